// How numbers read on the dashboard: the same units as the CLI's status
// (percent with two decimals, milliseconds, requests a second).
import htm from 'htm';
import { h } from 'preact';

/** htm bound to Preact: tagged templates instead of JSX, so the sources need no compiler. */
export const html = htm.bind(h);

const dash = '–';

export function percent(ratio: number | null | undefined, digits = 2): string {
  return ratio === null || ratio === undefined ? dash : `${(ratio * 100).toFixed(digits)}%`;
}

export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return dash;
  return value >= 100 ? `${Math.round(value)} ms` : `${value.toFixed(1)} ms`;
}

export function rps(value: number | null | undefined): string {
  return value === null || value === undefined ? dash : `${value.toFixed(1)}/s`;
}

export function weight(value: number): string {
  return `${Number(value.toFixed(2))}%`;
}

/** "3m 12s" from milliseconds: how long a route has been in its state. */
export function duration(msValue: number): string {
  const s = Math.max(0, Math.floor(msValue / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours}h ${m % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

export function since(iso: string | null, now: number): string {
  return iso ? duration(now - Date.parse(iso)) : dash;
}

export function time(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour12: false });
}

/** A gate's value or threshold in its unit. */
export function gateValue(value: number | null, unit: 'ratio' | 'ms' | 'number'): string {
  if (value === null) return dash;
  if (unit === 'ratio') return percent(value);
  if (unit === 'ms') return ms(value);
  return String(Number(value.toFixed(3)));
}

export const STATE_LABEL: Readonly<Record<string, string>> = {
  off: 'off',
  shadow: 'in shadow',
  canary: 'canary',
  paused: 'paused',
  done: 'done',
  'rolled-back': 'rolled back',
};
