// The benchmark's reporter: every section prints its human lines through `say` and registers each figure
// (value, unit, and the same-run baseline it is compared with) through `figure`. `npm run bench` prints
// the lines as before; `npm run bench -- --json` sends the lines to stderr and prints one JSON object
// on stdout at the end: { "<section>": { "<figure>": { value, unit, baseline?, baseline_unit?, ratio?,
// note? }, ... }, ..., "load_average": [1, 5, 15 min], "node": version, "quick": bool }.
// Keys are snake_case and stable: a consumer may rely on them across runs.
import { loadavg } from 'node:os';

export interface Figure {
  value: number;
  unit: string;
  /** What the figure is compared with, measured in the same run. */
  baseline?: number;
  baseline_unit?: string;
  /** value / baseline (or as the note says when a lower value is better). */
  ratio?: number;
  note?: string;
}

type SectionFigures = Record<string, Figure | string>;

export class Reporter {
  readonly json: boolean;
  readonly quick: boolean;
  private readonly sections: Record<string, SectionFigures> = {};

  constructor(opts: { json: boolean; quick: boolean }) {
    this.json = opts.json;
    this.quick = opts.quick;
  }

  /** A human line: stdout normally, stderr in --json mode (stdout then holds only the JSON object). */
  say = (line = ''): void => {
    (this.json ? process.stderr : process.stdout).write(`${line}\n`);
  };

  /** The handle a section module's run() receives. */
  section(key: string): Section {
    const figs: SectionFigures = {};
    this.sections[key] = figs;
    return {
      key,
      quick: this.quick,
      say: this.say,
      figure: (name, f) => {
        const ratio =
          f.ratio ?? (f.baseline !== undefined && f.baseline !== 0 ? f.value / f.baseline : undefined);
        figs[name] = { ...f, ...(ratio === undefined ? {} : { ratio }) };
      },
      skipped: (reason) => {
        figs.skipped = reason;
        this.say(`  skipped: ${reason}`);
      },
    };
  }

  /** The one JSON object of a --json run. */
  toJSON(): Record<string, unknown> {
    return { ...this.sections, load_average: loadavg(), node: process.version, quick: this.quick };
  }
}

export interface Section {
  key: string;
  /** A short run (LBDSR_BENCH_QUICK / --quick): fewer rounds and smaller tables, same keys. */
  quick: boolean;
  say(line?: string): void;
  /** Registers a figure under a stable snake_case name. */
  figure(name: string, f: Figure): void;
  /** Marks the section skipped (the reason is printed and lands in the JSON as "skipped"). */
  skipped(reason: string): void;
}

/** A reporter for a section run alone (`node dist/bench/xdp.js`): human output on stdout. */
export function standalone(key: string): Section {
  return new Reporter({ json: false, quick: process.env.LBDSR_BENCH_QUICK === '1' }).section(key);
}
