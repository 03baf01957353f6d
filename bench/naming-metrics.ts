/**
 * @file The figures of the naming benchmark (bench/naming-bench.ts), as pure functions over
 * the ground truth, what the user named and the suggestions the engine made, so they can be
 * checked on a hand-made example (test/naming-bench-metrics.test.ts). Everything is counted
 * by face: a suggestion for an unnamed person covers all of its faces, and each one is right
 * or wrong on its own.
 */

/** One face of the library and who it really is (null: a background face, identity unknown). */
export interface TruthFace {
  faceId: number;
  label: string | null;
  /** The photo's folder: which half of the people the face belongs to. */
  folder: string;
}

/** A suggestion as the API returns it, with its name already mapped back to a label. */
export interface ScoredSuggestion {
  faceIds: readonly number[];
  suggestedLabel: string;
  confidence: number;
}

export interface ReliabilityBin {
  /** Shown confidence from `from` (inclusive) to `to` (exclusive; 1.0 falls in the last bin). */
  from: number;
  to: number;
  /** Suggestions whose confidence falls in the bin. */
  questions: number;
  /** Labelled faces those suggestions cover, and how many of them they name right. */
  faces: number;
  correct: number;
  /** Mean shown confidence over those faces, and measured accuracy (null: no face). */
  meanConfidence: number | null;
  accuracy: number | null;
}

export interface NamingFigures {
  /** Suggestions with at least one face in scope: each is a question the user has to answer. */
  questions: number;
  /** Faces the suggestions cover, labelled ones among them, and labelled ones named right. */
  suggestedFaces: number;
  suggestedLabelled: number;
  correct: number;
  /** correct / suggestedLabelled (null when no labelled face was suggested). */
  precision: number | null;
  /** Labelled faces of named people, and of other people inside a named cluster (named wrongly by the user's rename). */
  namedPeopleFaces: number;
  impostorsInNamed: number;
  /** Labelled faces of named people outside the cluster they were named by. */
  strayFaces: number;
  recovered: number;
  recovery: number | null;
  /** Labelled faces of people never named, and those that got a (necessarily wrong) name. */
  neverNamedFaces: number;
  falseNamed: number;
  falseNames: number | null;
  /** Stray faces of named people suggested as another named person. */
  wrongNamedPerson: number;
  /** Background (unlabelled) faces that got a suggestion: not scored, only counted. */
  backgroundSuggested: number;
  reliability: ReliabilityBin[];
}

const ratio = (n: number, d: number): number | null => (d === 0 ? null : n / d);

/** Bin index of a shown confidence among ten 10% bins. */
export const confidenceBin = (confidence: number): number => Math.min(9, Math.max(0, Math.floor(confidence * 10)));

/**
 * The figures over the faces `inScope` accepts. `named` maps each named label to the face ids
 * of the cluster the user named with it (their "named cluster").
 */
export function namingFigures(
  faces: readonly TruthFace[],
  named: ReadonlyMap<string, ReadonlySet<number>>,
  suggestions: readonly ScoredSuggestion[],
  inScope: (face: TruthFace) => boolean = () => true,
): NamingFigures {
  const truth = new Map(faces.map((f) => [f.faceId, f]));
  const bins = Array.from({ length: 10 }, (_, i) => ({ questions: 0, faces: 0, correct: 0, confidenceSum: 0, from: i / 10, to: (i + 1) / 10 }));
  // A face suggested twice (it cannot be in the API, but a hand-made list could) counts once: its first suggestion.
  const suggestionOf = new Map<number, ScoredSuggestion>();
  let questions = 0;
  let suggestedFaces = 0;
  let backgroundSuggested = 0;
  for (const s of suggestions) {
    const mine = s.faceIds.map((id) => truth.get(id)).filter((f): f is TruthFace => f !== undefined && inScope(f) && !suggestionOf.has(f.faceId));
    if (mine.length === 0) continue;
    questions++;
    const bin = bins[confidenceBin(s.confidence)]!;
    bin.questions++;
    for (const f of mine) {
      suggestionOf.set(f.faceId, s);
      suggestedFaces++;
      if (f.label === null) {
        backgroundSuggested++;
        continue;
      }
      bin.faces++;
      bin.confidenceSum += s.confidence;
      if (f.label === s.suggestedLabel) bin.correct++;
    }
  }
  let suggestedLabelled = 0;
  let correct = 0;
  let strayFaces = 0;
  let recovered = 0;
  let wrongNamedPerson = 0;
  let neverNamedFaces = 0;
  let falseNamed = 0;
  let namedPeopleFaces = 0;
  let impostorsInNamed = 0;
  const inNamed = new Map<number, string>();
  for (const [label, ids] of named) for (const id of ids) inNamed.set(id, label);
  for (const f of faces) {
    if (f.label === null || !inScope(f)) continue;
    const s = suggestionOf.get(f.faceId);
    if (s) {
      suggestedLabelled++;
      if (s.suggestedLabel === f.label) correct++;
    }
    const namedAs = inNamed.get(f.faceId);
    if (namedAs !== undefined && namedAs !== f.label) impostorsInNamed++;
    const cluster = named.get(f.label);
    if (cluster) {
      namedPeopleFaces++;
      if (cluster.has(f.faceId)) continue;
      strayFaces++;
      if (s?.suggestedLabel === f.label) recovered++;
      else if (s) wrongNamedPerson++;
    } else {
      neverNamedFaces++;
      if (s) falseNamed++;
    }
  }
  return {
    questions,
    suggestedFaces,
    suggestedLabelled,
    correct,
    precision: ratio(correct, suggestedLabelled),
    namedPeopleFaces,
    impostorsInNamed,
    strayFaces,
    recovered,
    recovery: ratio(recovered, strayFaces),
    neverNamedFaces,
    falseNamed,
    falseNames: ratio(falseNamed, neverNamedFaces),
    wrongNamedPerson,
    backgroundSuggested,
    reliability: bins.map((b) => ({
      from: b.from,
      to: b.to,
      questions: b.questions,
      faces: b.faces,
      correct: b.correct,
      meanConfidence: ratio(b.confidenceSum, b.faces),
      accuracy: ratio(b.correct, b.faces),
    })),
  };
}

/**
 * The people the user names: everyone with at least `minFaces` labelled faces, sorted by
 * name, every other one starting with the first.
 */
export function peopleToName(faces: readonly TruthFace[], minFaces: number): string[] {
  const counts = new Map<string, number>();
  for (const f of faces) if (f.label !== null) counts.set(f.label, (counts.get(f.label) ?? 0) + 1);
  return [...counts]
    .filter(([, n]) => n >= minFaces)
    .map(([label]) => label)
    .sort()
    .filter((_, i) => i % 2 === 0);
}

/**
 * The cluster a user names `label` by: of the clusters where `label` is the most frequent
 * labelled identity (ties allowed), the one holding most of their faces; ties go to the
 * smaller cluster id. Null when `label` leads no cluster: the user cannot find them.
 */
export function largestClusterOf(label: string, clusters: ReadonlyMap<number, readonly (string | null)[]>): number | null {
  let best: { id: number; count: number } | null = null;
  for (const [id, labels] of clusters) {
    const counts = new Map<string, number>();
    for (const l of labels) if (l !== null) counts.set(l, (counts.get(l) ?? 0) + 1);
    const mine = counts.get(label) ?? 0;
    if (mine === 0 || Math.max(...counts.values()) > mine) continue;
    if (!best || mine > best.count || (mine === best.count && id < best.id)) best = { id, count: mine };
  }
  return best?.id ?? null;
}
