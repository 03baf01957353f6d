/**
 * @file The names of the API's methods at run time, for the transports and the renderer's
 * client. Written as an object keyed by method, checked against `KithApiSpec` both ways: a
 * method added to the spec and not here, or listed here and not in the spec, fails to compile.
 */
import type { ApiMethod } from './types.ts';

const METHODS = {
  status: true, errors: true, stats: true, startIndex: true, indexNow: true, checkFolder: true, pauseIndex: true,
  people: true, person: true, personByName: true, unassignedFaces: true, photo: true, photosOfPerson: true,
  renamePerson: true, mergePeople: true, moveFaces: true, rejectFaces: true, confirmFaces: true, setHidden: true, setCover: true, undo: true,
  suggestions: true, acceptSuggestion: true, rejectSuggestion: true, mergeQuestions: true, notSamePerson: true,
  searchByFace: true, searchByPhoto: true, addFace: true, cluster: true, exportXmp: true, exportFaces: true,
  folders: true, addFolder: true, removeFolder: true,
} as const satisfies Record<ApiMethod, true>;

export const API_METHODS = Object.keys(METHODS) as ApiMethod[];
