// The incidents CSV a team imports (`cutover report --incidents FILE`, or
// `report.incidents` for the dashboard's report): incidents the gateway
// cannot see (pages, postmortems). Columns, with a header row:
// date,kind,route,note (docs/report.md "Incidents"). Here, not in report/,
// because the config loader reads it too and config imports nothing of ours.
import { IncidentsFileError } from '../errors.ts';
import type { ImportedIncident } from './types.ts';

const HEADER = ['date', 'kind', 'route', 'note'];
/** `2026-11-02` (midnight UTC) or an ISO 8601 date-time with its offset (`2026-11-02T14:05:00Z`). */
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * One CSV line's fields (RFC 4180 quoting: `"a, b"`, `""` for a quote), or a
 * string saying what is wrong. A field cannot span lines: an incident's note
 * is one line.
 */
function splitLine(line: string): string[] | string {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) return 'a quoted field is not closed';
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += line[i++];
      }
      if (i < line.length && line[i] !== ',') return 'text after a closing quote';
    } else {
      const comma = line.indexOf(',', i);
      const end = comma === -1 ? line.length : comma;
      field = line.slice(i, end);
      if (field.includes('"')) return 'a quote inside an unquoted field';
      i = end;
    }
    fields.push(field);
    if (i >= line.length) return fields;
    i++; // the comma
  }
}

/** A line of the CSV that cannot be read: its number (from 1) and what is wrong. */
export interface IncidentsCsvProblem {
  readonly line: number;
  readonly reason: string;
}

/**
 * The incidents of the CSV text and every line that cannot be read (after a
 * bad header, nothing else is read: the columns are unknown).
 */
export function readIncidentsCsvText(text: string): {
  incidents: ImportedIncident[];
  problems: IncidentsCsvProblem[];
} {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const incidents: ImportedIncident[] = [];
  const problems: IncidentsCsvProblem[] = [];
  let header = false;
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n];
    if (line.trim() === '') continue;
    const fields = splitLine(line);
    if (!header) {
      const names = typeof fields === 'string' ? [] : fields.map((f) => f.trim().toLowerCase());
      if (names.join(',') !== HEADER.join(',')) {
        const reason =
          typeof fields === 'string'
            ? fields
            : `the first line must be the header "${HEADER.join(',')}", got "${line}"`;
        problems.push({ line: n + 1, reason });
        return { incidents, problems };
      }
      header = true;
      continue;
    }
    const read = typeof fields === 'string' ? fields : incidentOf(fields);
    if (typeof read === 'string') problems.push({ line: n + 1, reason: read });
    else incidents.push(read);
  }
  if (!header)
    problems.push({ line: 1, reason: `empty: expected the header "${HEADER.join(',')}"` });
  return { incidents, problems };
}

/** One line's incident, or what is wrong with it. */
function incidentOf(fields: string[]): ImportedIncident | string {
  if (fields.length !== HEADER.length)
    return `expected ${HEADER.length} fields (${HEADER.join(',')}), got ${fields.length}`;
  const [date, kind, route, note] = fields.map((f) => f.trim());
  const at = DATE.test(date)
    ? Date.parse(`${date}T00:00:00Z`)
    : DATE_TIME.test(date)
      ? Date.parse(date)
      : Number.NaN;
  if (Number.isNaN(at))
    return `date "${date}" is not ISO 8601 (2026-11-02 or 2026-11-02T14:05:00Z)`;
  if (kind === '') return 'kind is empty';
  return { at, kind, route, note };
}

/** Parses the CSV text of `file`; throws IncidentsFileError naming file:line for the first bad line. */
export function parseIncidentsCsv(text: string, file: string): ImportedIncident[] {
  const { incidents, problems } = readIncidentsCsvText(text);
  const first = problems[0];
  if (first) throw new IncidentsFileError(file, first.line, first.reason);
  return incidents;
}
