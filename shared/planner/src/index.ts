export { planQuery } from './plan.js';
export { renderPlan, frameViewSql, frameSelectSql, quoteIdent, quoteString, SERIALIZE_SQL, DESERIALIZE_SQL, type Deserialize } from './render.js';
export { explain, formatBytes } from './explain.js';
export { groupCells, type GroupingOptions } from './groups.js';
export { parseJson, stringifyJson, RawNumber, type Json, type JsonObject } from './json.js';
export type * from './types.js';
export { codeOnly, withoutTrailingSemicolon } from './statement-text.js';
export { inlineSelectSql, inlineType, withInlinePartials, type InlinePartial } from './partials.js';
