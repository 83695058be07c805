/**
 * Starts the files known to take longest first, so that on a clean clone (no timings cached
 * from an earlier run yet) none of them starts last and runs on alone while the other workers
 * idle. Everything else keeps vitest's own order: by earlier duration when known, else larger
 * files first. Only the order changes, never what runs.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Longest first, as measured (the system files form their own group, run after the rest). */
const SLOW = [
  'test/integration/media-orphans.test.ts',
  'test/integration/recording-stop.test.ts',
  'test/hostile/tokens.test.ts',
  'test/hostile/careless-config.test.ts',
  'test/integration/lifecycle.test.ts',
  'test/hostile/fuzz-notifications.test.ts',
  'test/integration/answer.test.ts',
  'test/media/recording/verify.test.ts',
  'test/chaos/replicas.test.ts',
  'test/integration/redis-cluster.test.ts',
  'test/integration/media-crash.test.ts',
  'test/integration/outbox-recovery.test.ts',
  'test/integration/processes.test.ts',
];

const rank = (spec: TestSpecification): number => {
  const i = SLOW.findIndex((path) => spec.moduleId.endsWith(path));
  return i < 0 ? SLOW.length : i;
};

export default class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const group = (spec: TestSpecification) => spec.project.config.sequence.groupOrder;
    return sorted
      .map((spec, i) => ({ spec, i }))
      .sort((a, b) => group(a.spec) - group(b.spec) || rank(a.spec) - rank(b.spec) || a.i - b.i)
      .map(({ spec }) => spec);
  }
}
