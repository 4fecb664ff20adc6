// A Dockerfile read into stages and instructions, far enough for the tests
// to check what the image will be without building it: line continuations,
// comments, global ARG defaults in FROM, ENV values, exec-form (JSON) arrays.
import { readFileSync } from 'node:fs';

export interface Instruction {
  /** Upper case: FROM, RUN, COPY, … */
  readonly keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  readonly args: string;
}

export interface Stage {
  readonly image: string;
  readonly name: string | undefined;
  readonly instructions: readonly Instruction[];
  /** ENV of the stage, in order (later wins). */
  readonly env: ReadonlyMap<string, string>;
}

/** The instructions of a Dockerfile, one per logical line. */
export function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    // Comments are whole lines, also between the lines of a continued instruction.
    if (/^\s*#/.test(line)) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const whole = (pending + line).trim();
    pending = '';
    if (whole === '') continue;
    const space = whole.search(/\s/);
    out.push({
      keyword: (space < 0 ? whole : whole.slice(0, space)).toUpperCase(),
      args: space < 0 ? '' : whole.slice(space).trim(),
    });
  }
  return out;
}

function substitute(text: string, vars: ReadonlyMap<string, string>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, a, b) => vars.get(a ?? b) ?? whole);
}

/** `KEY=VALUE KEY2="V 2"` or the old `KEY VALUE`. */
function assignments(args: string): [string, string][] {
  if (!/^\w+=/.test(args)) {
    const space = args.search(/\s/);
    return [[args.slice(0, space), args.slice(space).trim()]];
  }
  return [...args.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S*)/g)].map(([, key, value]) => [
    key,
    value.startsWith('"') ? (JSON.parse(value) as string) : value,
  ]);
}

/** The stages of a Dockerfile, FROM images resolved with the ARG defaults declared before them. */
export function stages(file: string): Stage[] {
  const globalArgs = new Map<string, string>();
  const out: {
    image: string;
    name: string | undefined;
    instructions: Instruction[];
    env: Map<string, string>;
  }[] = [];
  for (const ins of instructions(readFileSync(file, 'utf8'))) {
    if (ins.keyword === 'FROM') {
      const [image, as, name] = ins.args.replace(/^--platform=\S+\s+/, '').split(/\s+/);
      out.push({
        image: substitute(image, globalArgs),
        name: as?.toUpperCase() === 'AS' ? name : undefined,
        instructions: [],
        env: new Map(),
      });
      continue;
    }
    const stage = out.at(-1);
    if (stage === undefined) {
      if (ins.keyword === 'ARG') for (const [k, v] of assignments(ins.args)) globalArgs.set(k, v);
      continue;
    }
    stage.instructions.push(ins);
    if (ins.keyword === 'ENV') for (const [k, v] of assignments(ins.args)) stage.env.set(k, v);
  }
  return out;
}

/** The JSON array of an exec-form instruction (`CMD ["a", "b"]`); fails on the shell form. */
export function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) {
    throw new Error(`not an exec-form array: ${args}`);
  }
  return parsed;
}

/** HEALTHCHECK's options (`--interval=10s`) and the command after CMD. */
export function healthcheck(args: string): { options: Map<string, string>; command: string } {
  const options = new Map<string, string>();
  let rest = args;
  for (let m = /^--(\w[\w-]*)=(\S+)\s+/.exec(rest); m; m = /^--(\w[\w-]*)=(\S+)\s+/.exec(rest)) {
    options.set(m[1], m[2]);
    rest = rest.slice(m[0].length);
  }
  if (!rest.startsWith('CMD')) throw new Error(`HEALTHCHECK without CMD: ${args}`);
  return { options, command: rest.slice(3).trim() };
}
