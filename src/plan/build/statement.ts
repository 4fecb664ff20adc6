// What a `db.statement` says about data, read cheaply with regular
// expressions rather than a SQL parser: the tables it names, the columns of a
// single-table statement, whether it writes and whether it begins, commits or
// prepares a transaction. Limits (docs/plan.md, "How the figures are
// computed"): columns only for single-table SELECT / INSERT / UPDATE /
// DELETE; `*`, expressions and sub-queries give no columns; quoted
// identifiers are unquoted; schema-qualified names keep their last part.

export interface StatementFacts {
  readonly tables: readonly string[];
  /** `table.column`, only when the statement names one table. */
  readonly columns: readonly string[];
  readonly writes: boolean;
  readonly begins: boolean;
  readonly commits: boolean;
  /** PREPARE TRANSACTION / XA … : a two-phase commit step. */
  readonly twoPhase: boolean;
}

const IDENT = String.raw`[\`"\[]?[A-Za-z_][\w$]*[\`"\]]?(?:\.[\`"\[]?[A-Za-z_][\w$]*[\`"\]]?)*`;
const TABLE_REF = new RegExp(String.raw`\b(?:FROM|JOIN|INTO|UPDATE)\s+(${IDENT})`, 'gi');
const WRITE = /^\s*(?:WITH\b[\s\S]*?\)\s*)?(?:INSERT|UPDATE|DELETE|MERGE|UPSERT|REPLACE)\b/i;
const BEGIN = /^\s*(?:BEGIN|START\s+TRANSACTION)\b/i;
const COMMIT = /^\s*(?:COMMIT|END)\b/i;
const TWO_PHASE =
  /^\s*(?:XA\s+(?:START|BEGIN|END|PREPARE|COMMIT)|PREPARE\s+TRANSACTION|COMMIT\s+PREPARED)\b/i;
const SELECT_LIST = /^\s*SELECT\s+(?:DISTINCT\s+)?([\s\S]+?)\s+FROM\b/i;
const INSERT_LIST = /^\s*INSERT\s+INTO\s+\S+\s*\(([^)]*)\)/i;
const SET_LIST = /\bSET\s+([\s\S]+?)(?:\s+WHERE\b|\s+RETURNING\b|$)/i;
const WHERE = /\bWHERE\s+([\s\S]+?)(?:\s+(?:ORDER|GROUP|LIMIT|RETURNING|FOR)\b|$)/i;
const CONDITION_COLUMN =
  /([A-Za-z_][\w$]*)\s*(?:=|<>|!=|<=|>=|<|>|\bIN\b|\bLIKE\b|\bIS\b|\bBETWEEN\b)/gi;
const PLAIN_COLUMN = /^(?:[A-Za-z_][\w$]*\.)?([A-Za-z_][\w$]*)$/;
const KEYWORDS = new Set(['and', 'or', 'not', 'null', 'true', 'false', 'exists']);

function unquote(name: string): string {
  const parts = name.split('.');
  return parts[parts.length - 1].replace(/[`"[\]]/g, '').toLowerCase();
}

/** `a, b AS x, t.c` → [a, b, c]; anything that is not a plain column name is left out. */
function listColumns(text: string): string[] {
  const out: string[] = [];
  for (const part of text.split(',')) {
    const item = part
      .trim()
      .replace(/\s+(?:AS\s+)?[A-Za-z_][\w$]*$/i, '')
      .replace(/[`"[\]]/g, '');
    const m = PLAIN_COLUMN.exec(item.split('=')[0].trim());
    if (m) out.push(m[1].toLowerCase());
  }
  return out;
}

const EMPTY: StatementFacts = {
  tables: [],
  columns: [],
  writes: false,
  begins: false,
  commits: false,
  twoPhase: false,
};

export function statementFacts(statement: string | undefined): StatementFacts {
  if (statement === undefined || statement === '') return EMPTY;
  const tables = [...new Set([...statement.matchAll(TABLE_REF)].map((m) => unquote(m[1])))];
  const columns = new Set<string>();
  if (tables.length === 1 && !/\(\s*SELECT\b/i.test(statement)) {
    const select = SELECT_LIST.exec(statement);
    if (select) for (const c of listColumns(select[1])) columns.add(c);
    const insert = INSERT_LIST.exec(statement);
    if (insert) for (const c of listColumns(insert[1])) columns.add(c);
    if (/^\s*UPDATE\b/i.test(statement)) {
      const set = SET_LIST.exec(statement);
      if (set) for (const c of listColumns(set[1])) columns.add(c);
    }
    const where = WHERE.exec(statement);
    if (where) {
      for (const m of where[1].matchAll(CONDITION_COLUMN)) {
        const c = m[1].toLowerCase();
        if (!KEYWORDS.has(c)) columns.add(c);
      }
    }
  }
  return {
    tables,
    columns: [...columns].map((c) => `${tables[0]}.${c}`),
    writes: WRITE.test(statement),
    begins: BEGIN.test(statement),
    commits: COMMIT.test(statement),
    twoPhase: TWO_PHASE.test(statement),
  };
}
