/**
 * @file Turns off ONNX Runtime's built-in telemetry before ONNX Runtime starts. onnxruntime-node
 * 1.29+ on Linux and macOS carries Microsoft's 1DS telemetry: left on, every process that creates
 * a session writes a persistent device id and an upload queue under
 * ~/.cache/Microsoft/DeveloperTools/.onnxruntime/, plus `mat-debug-<pid>.log` and `.ses` files
 * in the temp folder. Kith promises that nothing about your photos or your machine leaves it, so
 * this is not a preference: it is forced on.
 *
 * Import it FIRST (ES imports run in order, before the importing module's body): native/runtime.ts,
 * the CLI, the engine host and the benchmarks do. ONNX Runtime reads the variable when it creates
 * its environment, i.e. with the first session, so a later import still works; first is safer.
 */
process.env.ORT_DISABLE_TELEMETRY = '1';

export {};
