/**
 * @file Which of a person's faces looks best: one SQL ranking for the default cover
 * (people.ts) and the order of a person's faces (views.ts), so the cover is the first face
 * their page shows.
 */

/**
 * `ORDER BY` terms ranking faces (table alias `f`), best first: faces that pass the clustering
 * quality gate (cluster.ts DEFAULT_GATE) first, then size × sharpness × frontality. Size counts
 * up to 200 px and sharpness (Laplacian variance of the aligned crop; lfw-dev median 105) up to
 * 150, past which a face looks no better in a 160 px thumbnail; yaw and pitch take a quadratic
 * penalty, so a three-quarter view loses to a frontal one of the same size. A small background
 * face or a dark blur never beats a clear portrait. Ties go by face id.
 */
export function bestFacesFirst(f: string): string {
  return `(${f}.score >= 0.9 AND ${f}.size >= 64 AND ${f}.sharpness >= 15 AND abs(${f}.yaw) <= 60 AND abs(${f}.pitch) <= 45) DESC,
  ${f}.score * min(${f}.size, 200) * min(${f}.sharpness, 150)
    * (1 - min(abs(${f}.yaw), 90) / 90.0) * (1 - min(abs(${f}.yaw), 90) / 90.0)
    * (1 - min(abs(${f}.pitch), 90) / 90.0) * (1 - min(abs(${f}.pitch), 90) / 90.0) DESC, ${f}.id`;
}
