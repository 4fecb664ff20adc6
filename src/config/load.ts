// STUB — being written (YAML with positions, ${ENV} interpolation, issues with file:line:col).
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { ConfigError } from '../errors.ts';
import { normalizeConfig } from './normalize.ts';
import { configSchema } from './schema.ts';
import type { Config } from './types.ts';

export function parseConfigText(
  text: string,
  file: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Config {
  void env;
  const raw = configSchema.safeParse(parse(text));
  if (!raw.success) {
    throw new ConfigError(
      raw.error.issues.map((i) => ({ file, line: 1, column: 1, path: i.path.join('.'), message: i.message })),
    );
  }
  const { config, issues } = normalizeConfig(raw.data, file);
  if (!config) {
    throw new ConfigError(issues.map((i) => ({ file, line: 1, column: 1, path: i.path.join('.'), message: i.message })));
  }
  return config;
}

export async function loadConfigFile(
  file: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<Config> {
  return parseConfigText(await readFile(file, 'utf8'), file, env);
}
