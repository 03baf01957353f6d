/**
 * @file Naming suggestions (placeholder until the SVM lands).
 */
import type { OpResult, Suggestion } from './api-types.ts';
import type { PeopleService } from './people.ts';
import { UserError } from './people.ts';
import type { Store } from './store/index.ts';

export class Naming {
  constructor(
    private readonly store: Store,
    private readonly modelId: string,
  ) {}
  invalidate(): void {}
  suggestions(): Suggestion[] {
    return [];
  }
  accept(key: string, _people: PeopleService): OpResult {
    throw new UserError(`no suggestion ${key}`);
  }
  reject(key: string, _people: PeopleService): OpResult {
    throw new UserError(`no suggestion ${key}`);
  }
}
