/**
 * The options of `bench` as commander parses them: apart from run.ts, which loads the suites lazily, so that a
 * suite module (wanBench.ts) can take them without importing its own loader.
 */

/** Options of `bench`, as commander parses them. */
export interface BenchCliOptions {
  size?: string;
  rounds?: string;
  only?: string;
  json?: string;
  quick?: boolean;
  profile?: boolean;
  sstMib?: string;
  variants?: string;
  datasets?: string;
  wanRates?: string;
  wanVariants?: string;
  wanScenarios?: string;
  wanCopy?: string;
  readonlyLoads?: string;
  readonlyVariants?: string;
}
