// The incidents CSV a team imports (`cutover report --incidents FILE`):
// incidents the gateway cannot see (pages, postmortems). Columns, with a
// header row: date,kind,route,note (docs/report.md "Incidents").
import { IncidentsFileError } from '../errors.ts';
import type { ImportedIncident } from './report-types.ts';

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

/** Parses the CSV text of `file`; throws IncidentsFileError naming file:line for the first bad line. */
export function parseIncidentsCsv(text: string, file: string): ImportedIncident[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const incidents: ImportedIncident[] = [];
  let header = false;
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n];
    if (line.trim() === '') continue;
    const fields = splitLine(line);
    if (typeof fields === 'string') throw new IncidentsFileError(file, n + 1, fields);
    if (!header) {
      const names = fields.map((f) => f.trim().toLowerCase());
      if (names.join(',') !== HEADER.join(',')) {
        throw new IncidentsFileError(
          file,
          n + 1,
          `the first line must be the header "${HEADER.join(',')}", got "${line}"`,
        );
      }
      header = true;
      continue;
    }
    if (fields.length !== HEADER.length) {
      throw new IncidentsFileError(
        file,
        n + 1,
        `expected ${HEADER.length} fields (${HEADER.join(',')}), got ${fields.length}`,
      );
    }
    const [date, kind, route, note] = fields.map((f) => f.trim());
    const at = DATE.test(date)
      ? Date.parse(`${date}T00:00:00Z`)
      : DATE_TIME.test(date)
        ? Date.parse(date)
        : Number.NaN;
    if (Number.isNaN(at)) {
      throw new IncidentsFileError(
        file,
        n + 1,
        `date "${date}" is not ISO 8601 (2026-11-02 or 2026-11-02T14:05:00Z)`,
      );
    }
    if (kind === '') throw new IncidentsFileError(file, n + 1, 'kind is empty');
    incidents.push({ at, kind, route, note });
  }
  if (!header)
    throw new IncidentsFileError(file, 1, `empty: expected the header "${HEADER.join(',')}"`);
  return incidents;
}
