// heic-decode ships no types; this is the part Kith uses.
declare module 'heic-decode' {
  interface DecodedImage {
    width: number;
    height: number;
    data: Uint8ClampedArray;
  }
  function decode(input: { buffer: ArrayBufferLike | Uint8Array }): Promise<DecodedImage>;
  namespace decode {
    /** An image of the file, its size read from the container; pixels only on `decode()`. */
    interface HeifImage {
      width: number;
      height: number;
      decode(): Promise<DecodedImage>;
    }
    /** Every image in the file, undecoded; `dispose()` frees them. */
    function all(input: { buffer: ArrayBufferLike | Uint8Array }): Promise<HeifImage[] & { dispose(): void }>;
  }
  export default decode;
}
