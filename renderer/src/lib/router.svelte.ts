/**
 * @file Hash routing without a library: `#/people`, `#/person/12`, `#/unassigned`,
 * `#/suggestions`, `#/search`, `#/search/face/34`, `#/photo/5`, `#/library`.
 */
export type Route =
  | { name: 'people' }
  | { name: 'person'; id: number }
  | { name: 'unassigned' }
  | { name: 'suggestions' }
  | { name: 'search'; faceId: number | null }
  | { name: 'photo'; id: number }
  | { name: 'library' }
  | { name: 'not-found'; path: string };

export function parseHash(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/people';
  const parts = path.split('/').filter(Boolean);
  const id = (s: string | undefined) => (s && /^\d+$/.test(s) ? Number(s) : null);
  switch (parts[0]) {
    case 'people':
      if (parts.length === 1) return { name: 'people' };
      break;
    case 'person': {
      const n = id(parts[1]);
      if (n !== null && parts.length === 2) return { name: 'person', id: n };
      break;
    }
    case 'unassigned':
      return { name: 'unassigned' };
    case 'suggestions':
      return { name: 'suggestions' };
    case 'search': {
      if (parts.length === 1) return { name: 'search', faceId: null };
      const n = id(parts[2]);
      if (parts[1] === 'face' && n !== null) return { name: 'search', faceId: n };
      break;
    }
    case 'photo': {
      const n = id(parts[1]);
      if (n !== null) return { name: 'photo', id: n };
      break;
    }
    case 'library':
      return { name: 'library' };
  }
  return { name: 'not-found', path };
}

export const href = {
  people: () => '#/people',
  person: (id: number) => `#/person/${id}`,
  unassigned: () => '#/unassigned',
  suggestions: () => '#/suggestions',
  search: () => '#/search',
  searchFace: (faceId: number) => `#/search/face/${faceId}`,
  photo: (id: number) => `#/photo/${id}`,
  library: () => '#/library',
};

class Router {
  route = $state<Route>(parseHash(typeof location === 'undefined' ? '' : location.hash));
  /** Whether the app has moved since it opened, so Back stays inside it. */
  private moved = false;

  constructor() {
    if (typeof window !== 'undefined')
      window.addEventListener('hashchange', () => {
        this.moved = true;
        this.route = parseHash(location.hash);
      });
  }

  /** Back to the previous screen, or People when the app was opened on this one. */
  back(): void {
    if (this.moved) history.back();
    else this.go(href.people());
  }

  go(hash: string): void {
    if (location.hash === hash) this.route = parseHash(hash);
    else location.hash = hash;
  }
}

export const router = new Router();
