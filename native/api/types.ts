/**
 * @file The one API definition every Kith surface shares: the Svelte UI (over Electron IPC or
 * loopback HTTP), the CLI and the tests. Types only (the list of method names is methods.ts),
 * so the renderer can import it without pulling in the engine.
 */

import type { Box } from '../common/geometry.ts';

export type { Box };

export type FaceState = 'confirmed' | 'machine' | 'unassigned';

export interface FaceInfo {
  id: number;
  photoId: number;
  /** Face box in the upright original photo's pixels. */
  box: Box;
  score: number;
  personId: number | null;
  personName: string | null;
  state: FaceState;
}

export interface PersonCard {
  id: number;
  name: string | null;
  hidden: boolean;
  faceCount: number;
  /** The face shown for this person: the chosen cover, else their best face. */
  coverFaceId: number | null;
  /**
   * An unnamed group with too little evidence of being one person (two blurry strangers, one
   * photo and its copy): the People grid lists it under "Maybe" at the end.
   */
  maybe: boolean;
}

export interface PersonDetail extends PersonCard {
  /** One page of the person's faces, best first. */
  faces: FaceInfo[];
  /** Distinct photos holding the person's faces. */
  photoCount: number;
}

export interface Page<T> {
  total: number;
  offset: number;
  items: T[];
}

export interface PhotoInfo {
  id: number;
  path: string;
  width: number | null;
  height: number | null;
  takenAt: string | null;
  /** Other files with exactly this photo's content (copies); the faces are stored once, on this photo. */
  alsoAt: string[];
  faces: FaceInfo[];
}

export interface IndexProgress {
  phase: 'scanning' | 'indexing' | 'reembedding' | 'indexing-ann' | 'clustering' | 'done';
  total: number;
  done: number;
  faces: number;
  errors: number;
  photosPerSec: number;
  etaSec: number | null;
  current?: string;
}

/** How long one indexing run spent in each stage. */
export interface StageTimes {
  /** Summed milliseconds per stage; stages overlap, so the sum can exceed wall time. */
  read: number;
  decode: number;
  detect: number;
  align: number;
  embed: number;
  store: number;
}

/** What one indexing run did (`kith index` prints it). */
export interface IndexSummary {
  runId: number;
  provider: string;
  modelId: string;
  scanned: number;
  /** Files not re-read: size and mtime unchanged, or only those changed (same content). */
  unchanged: number;
  /** Of `unchanged`: the size or mtime changed but the content did not (kept as it was). */
  touched: number;
  indexed: number;
  moved: number;
  /** Files with the same content as a photo already in the library, recorded as its copies (no faces). */
  copies: number;
  /** Faces whose thumbnail was missing and made again. */
  thumbsRebuilt: number;
  removed: number;
  reembedded: number;
  errors: number;
  faces: number;
  wallMs: number;
  stages: StageTimes;
  interrupted: boolean;
}

/** What one clustering pass did. */
export interface ClusterSummary {
  mode: 'full' | 'incremental';
  faces: number;
  people: number;
  newPeople: number;
  assigned: number;
  unassigned: number;
  ms: number;
}

/** A finished `indexNow`: the run, and the clustering after it (none when the run was interrupted). */
export interface IndexOutcome {
  summary: IndexSummary;
  clustering: ClusterSummary | null;
}

/** One indexing run as the library records it. */
export interface RunInfo {
  id: number;
  folder: string;
  startedAt: string;
  finishedAt: string | null;
  status: 'running' | 'done' | 'interrupted' | 'failed';
  provider: string | null;
  modelId: string | null;
  photosTotal: number;
  photosIndexed: number;
  facesFound: number;
  errors: number;
}

/** `kith stats`: the library's counts. */
export interface LibraryStats {
  db: string;
  root: string | null;
  photos: number;
  photosIndexed: number;
  errors: number;
  /** Files with the same content as a photo (counted once, as that photo). */
  duplicates: number;
  faces: number;
  models: Array<{ modelId: string; n: number }>;
  /** Named face regions read from photo metadata (XMP), by what became of them. */
  importedNames: { regions: number; named: number; unmatched: number; conflict: number; kept: number };
  lastRun: RunInfo | null;
}

/** One face of `kith export --json`. */
export interface ExportedFace {
  faceId: number;
  photo: string;
  box: Box;
  personId: number | null;
  personName: string | null;
  state: FaceState | 'suggested';
  suggestedName?: string;
  confidence?: number;
}

export interface LibraryStatus {
  /** The library's first folder (null before one is chosen); `folders` has them all. */
  root: string | null;
  folders: string[];
  photos: number;
  faces: number;
  errors: number;
  /** People the People screen shows: not hidden, not under "Maybe". */
  people: number;
  namedPeople: number;
  unassignedFaces: number;
  /** Live progress while an indexing run is going, else null. */
  indexing: IndexProgress | null;
  paused: boolean;
  modelId: string | null;
  provider: string | null;
}

export interface PhotoError {
  photoId: number;
  path: string;
  error: string;
}

export interface Suggestion {
  /** Stable key for accept/reject: `person:<id>` for an unnamed person, `face:<id>` for an unassigned face. */
  key: string;
  kind: 'person' | 'face';
  /** The unnamed person the suggestion is about (kind 'person'). */
  personId: number | null;
  /** The faces the suggestion covers (all of the unnamed person's, or the one face). */
  faceIds: number[];
  suggestedPersonId: number;
  suggestedName: string;
  /** 0–1; the UI shows it as a percentage. */
  confidence: number;
}

/** "Are these the same person?" about two people the clustering kept apart (see native/people/merge-questions.ts). */
export interface MergeQuestion {
  /** `merge:<fromId>:<intoId>`. */
  key: string;
  /** Yes merges `fromId` into `intoId` (the named one, or the larger of two unnamed). */
  fromId: number;
  intoId: number;
  /** The name that wins on yes; null when both are unnamed. */
  intoName: string | null;
  /** A few faces of each, to show side by side. */
  fromFaceIds: number[];
  intoFaceIds: number[];
  fromFaceCount: number;
  intoFaceCount: number;
  /** Average cosine similarity between their faces, as clustering measures it. */
  linkage: number;
  /** 0–1, measured share of such pairs that are one person; the UI shows it as a percentage. */
  confidence: number;
}

export interface SearchHit {
  faceId: number;
  photoId: number;
  similarity: number;
  personId: number | null;
  personName: string | null;
}

export interface SearchPersonHit {
  personId: number;
  name: string | null;
  similarity: number;
}

/** What one face of the query looks like: its own hits and people. */
export interface SearchGroup {
  /** The query face, as a small JPEG `data:` URL (null for a face of the library). */
  thumb: string | null;
  hits: SearchHit[];
  people: SearchPersonHit[];
}

export interface SearchResult {
  /** Faces found in the query photo (one for a face query). */
  queryFaces: number;
  /** Every hit of every query face, most similar first; only those at or above `threshold`. */
  hits: SearchHit[];
  /** People among the hits, most similar first. */
  people: SearchPersonHit[];
  /** One group per query face, in the photo's reading order (left to right). */
  groups: SearchGroup[];
  /** Cosine similarity below which a face is not offered as alike (measured on lfw-dev). */
  threshold: number;
}

/** A folder path as typed on the first-run screen, checked before indexing. */
export interface FolderCheck {
  /** The absolute path it means (`~` expanded). */
  path: string;
  state: 'ok' | 'missing' | 'not-folder' | 'unreadable';
  /** Photos found under it (state 'ok'); a lower bound when `complete` is false. */
  photos: number | null;
  complete: boolean;
}

/** What a change to people did. */
export interface OpResult {
  /** What was done, in words, for the toast ("Named Leonard", "Undid: merge"). */
  label: string;
  /** The person the user should see next, when the operation created or kept one. */
  personId?: number;
  /** Set when a rename hit an existing name: the UI offers to merge into this person. */
  conflictWith?: number;
}

/** Where `exportXmp` writes: `photo.jpg.xmp` (digiKam, darktable) or `photo.xmp` (Adobe). */
export type XmpSidecarStyle = 'jpg.xmp' | 'xmp';

/** What `exportXmp` did: sidecars written, named faces in them, photos skipped and why. */
export interface XmpExportResult {
  photos: number;
  faces: number;
  skipped: Array<{ path: string; reason: string }>;
}

/** Every call the UI can make; each returns a promise over any transport. */
export interface KithApiSpec {
  status(): LibraryStatus;
  errors(): PhotoError[];
  startIndex(folder?: string): LibraryStatus;
  checkFolder(path: string): FolderCheck;
  pauseIndex(): LibraryStatus;
  people(includeHidden?: boolean): PersonCard[];
  person(personId: number, offset?: number, limit?: number): PersonDetail;
  unassignedFaces(offset?: number, limit?: number): Page<FaceInfo>;
  photo(photoId: number): PhotoInfo;
  photosOfPerson(personId: number, offset?: number, limit?: number): Page<PhotoInfo>;
  renamePerson(personId: number, name: string): OpResult;
  mergePeople(personIds: number[], intoId: number, name?: string): OpResult;
  moveFaces(faceIds: number[], toPersonId: number | null, newPersonName?: string): OpResult;
  rejectFaces(faceIds: number[], personId: number): OpResult;
  confirmFaces(faceIds: number[], personId: number): OpResult;
  setHidden(personId: number, hidden: boolean): OpResult;
  setCover(personId: number, faceId: number): OpResult;
  undo(): OpResult | null;
  suggestions(): Suggestion[];
  acceptSuggestion(key: string): OpResult;
  rejectSuggestion(key: string): OpResult;
  /** Open "same person?" questions, the most informative first. */
  mergeQuestions(): MergeQuestion[];
  /** "No, these are two people": their faces are kept apart in every re-cluster, and the question is not asked again. */
  notSamePerson(personA: number, personB: number): OpResult;
  searchByFace(faceId: number, k?: number): SearchResult;
  searchByPhoto(base64: string, k?: number): SearchResult;
  /**
   * A face the detector missed, drawn by the user: `box` in the upright original photo's pixels,
   * named as `toPersonId` or `newPersonName` (an existing name is that person). Undo removes it.
   * `detected`: the detector found the face on a second look at the box (else the box placed it).
   */
  addFace(photoId: number, box: Box, toPersonId: number | null, newPersonName?: string): OpResult & { faceId: number; detected: boolean };
  cluster(full?: boolean): ClusterSummary;
  /**
   * Index now and resolve when done (the CLI's `kith index`): the library's folder, or `folder`
   * for a new library; `verify` re-hashes every file. Progress comes as events; `pauseIndex` stops it.
   */
  indexNow(folder?: string, verify?: boolean): IndexOutcome;
  stats(): LibraryStats;
  /** Every face with its photo, box, person and state (`kith export --json`). */
  exportFaces(): ExportedFace[];
  /** The id of the person with this name (any case); an error when there is none. */
  personByName(name: string): number;
  /** Write the names of named people's faces into XMP sidecars next to the photos (never into a photo). */
  exportXmp(sidecar?: XmpSidecarStyle): XmpExportResult;
  /** The library's folders, with how Kith keeps up with each. */
  folders(): LibraryFolder[];
  /** Add a folder to the library (indexing it is `startIndex`/`indexNow`; a watching engine watches it at once). */
  addFolder(path: string): LibraryFolder[];
  /** Take a folder out of the library: its photos and faces go; people keep their names. */
  removeFolder(path: string): FolderRemoved;
}

/** A library folder, and how Kith keeps up with it while the app or `kith serve` runs. */
export interface LibraryFolder {
  path: string;
  photos: number;
  /**
   * 'events': watched, changes are indexed as they happen; 'rescan': a network share (it sends
   * no change events), looked at again every `rescanMinutes`; null: not watched by this process.
   */
  watch: 'events' | 'rescan' | null;
  rescanMinutes: number | null;
}

export interface FolderRemoved {
  photos: number;
  faces: number;
  folders: LibraryFolder[];
}

export type ApiMethod = keyof KithApiSpec;

/** Events the engine pushes to the UI. */
export interface KithEvents {
  progress: IndexProgress;
  /** People, faces or photos changed; `reason` says what for the UI to refresh ('elsewhere': another process, e.g. `kith name`, changed the library). */
  changed: { reason: 'index' | 'people' | 'cluster' | 'folders' | 'elsewhere' };
}

