/**
 * @file Finds faces with RetinaFace-MobileNet0.25: builds the input at the photo's own
 * aspect ratio, decodes the anchors of the three strides, and keeps the best box per face
 * (NMS). Coordinates come back in the pixel space of the image that was passed in.
 */
import sharp from 'sharp';
import { iou, type Point } from '../common/geometry.ts';
import type { DecodedPhoto } from './decode.ts';
import { join } from 'node:path';
import { loadManifest, MODELS_DIR, ort, runSession, sessionFor, type DeviceChoice, type LoadedSession } from './runtime.ts';

export type { Point };

export interface Detection {
  /** Box corners, in the coordinates of the image given to detectFaces. */
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  score: number;
  /** Left eye, right eye, nose, left mouth corner, right mouth corner (as seen in the image). */
  landmarks: Point[];
}

/** Longest side the detector sees; faces down to ~12 px at this scale are found. */
export const DETECT_MAX_SIDE = 960;
export const SCORE_THRESHOLD = 0.5;
export const NMS_IOU = 0.4;

const STRIDES = [
  { stride: 32, anchors: [512, 256] },
  { stride: 16, anchors: [128, 64] },
  { stride: 8, anchors: [32, 16] },
] as const;

/** Resize to fit DETECT_MAX_SIDE and pad (bottom/right, black) to multiples of 32. */
export async function detectorInput(photo: Pick<DecodedPhoto, 'rgb' | 'width' | 'height'>) {
  const scale = Math.min(1, DETECT_MAX_SIDE / Math.max(photo.width, photo.height));
  let pixels = photo.rgb;
  let w = photo.width;
  let h = photo.height;
  if (scale < 1) {
    w = Math.max(1, Math.round(photo.width * scale));
    h = Math.max(1, Math.round(photo.height * scale));
    pixels = await sharp(photo.rgb, { raw: { width: photo.width, height: photo.height, channels: 3 } })
      .resize(w, h, { fit: 'fill' })
      .raw()
      .toBuffer();
  }
  const W = Math.max(32, Math.ceil(w / 32) * 32);
  const H = Math.max(32, Math.ceil(h / 32) * 32);
  const data = new Float32Array(3 * H * W);
  const plane = H * W;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = (y * w + x) * 3;
      const d = y * W + x;
      data[d] = pixels[s]!;
      data[plane + d] = pixels[s + 1]!;
      data[2 * plane + d] = pixels[s + 2]!;
    }
  }
  return { tensor: new ort.Tensor('float32', data, [1, 3, H, W]), scaleX: w / photo.width, scaleY: h / photo.height };
}

/** Greedy non-maximum suppression, highest score first. */
export function nms(dets: Detection[], threshold = NMS_IOU): Detection[] {
  const sorted = [...dets].sort((a, b) => b.score - a.score);
  const kept: Detection[] = [];
  for (const d of sorted) if (kept.every((k) => iou(k, d) <= threshold)) kept.push(d);
  return kept;
}

/** Decode the raw outputs of the three strides into candidate detections (detector pixels). */
export function decodeAnchors(outputs: Record<string, ort.Tensor>, threshold = SCORE_THRESHOLD): Detection[] {
  const found: Detection[] = [];
  for (const { stride, anchors } of STRIDES) {
    const cls = outputs[`face_rpn_cls_prob_reshape_stride${stride}`]!;
    const box = outputs[`face_rpn_bbox_pred_stride${stride}`]!.data as Float32Array;
    const lmk = outputs[`face_rpn_landmark_pred_stride${stride}`]!.data as Float32Array;
    const [, , h, w] = cls.dims as [number, number, number, number];
    const scores = cls.data as Float32Array;
    const plane = h * w;
    anchors.forEach((a, q) => {
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < w; j++) {
          const at = i * w + j;
          const score = scores[(2 + q) * plane + at]!;
          if (score < threshold) continue;
          const cx = j * stride + 7.5;
          const cy = i * stride + 7.5;
          const d = (k: number) => box[(4 * q + k) * plane + at]!;
          const bx = cx + a * d(0);
          const by = cy + a * d(1);
          const bw = a * Math.exp(d(2));
          const bh = a * Math.exp(d(3));
          const landmarks: Point[] = [];
          for (let k = 0; k < 5; k++) {
            landmarks.push({
              x: cx + lmk[(10 * q + 2 * k) * plane + at]! * 0.2 * a,
              y: cy + lmk[(10 * q + 2 * k + 1) * plane + at]! * 0.2 * a,
            });
          }
          found.push({ x1: bx - bw / 2, y1: by - bh / 2, x2: bx + bw / 2, y2: by + bh / 2, score, landmarks });
        }
      }
    });
  }
  return found;
}

/** Faces in `photo`, in its own pixel coordinates, best first. */
export async function detectFaces(
  detector: LoadedSession,
  photo: Pick<DecodedPhoto, 'rgb' | 'width' | 'height'>,
  threshold = SCORE_THRESHOLD,
): Promise<Detection[]> {
  const { tensor, scaleX, scaleY } = await detectorInput(photo);
  const outputs = await runSession(detector, { data: tensor });
  const clampX = (v: number) => Math.min(photo.width, Math.max(0, v / scaleX));
  const clampY = (v: number) => Math.min(photo.height, Math.max(0, v / scaleY));
  return nms(decodeAnchors(outputs, threshold)).map((d) => ({
    x1: clampX(d.x1),
    y1: clampY(d.y1),
    x2: clampX(d.x2),
    y2: clampY(d.y2),
    score: d.score,
    landmarks: d.landmarks.map((p) => ({ x: p.x / scaleX, y: p.y / scaleY })),
  }));
}

/** The detector session named in the model manifest. */
export async function loadDetector(device: DeviceChoice = 'auto', notice?: (line: string) => void, dir = MODELS_DIR): Promise<LoadedSession> {
  const model = loadManifest(dir).models.find((m) => m.role === 'detector');
  if (!model) throw new Error('no detector in the model manifest: run `npm run models`');
  return sessionFor(join(dir, model.file), device, notice, model.graphOptimization);
}
