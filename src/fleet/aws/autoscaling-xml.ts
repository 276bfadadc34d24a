/**
 * The AWS query protocol as the Auto Scaling API speaks it, without any action in it: the success
 * and error documents, the errors themselves, reading list and structure parameters
 * (`Name.member.N`, `Filters.member.N.Values.member.M`) and pagination (MaxRecords, NextToken).
 *
 * Protocol: https://docs.aws.amazon.com/autoscaling/ec2/APIReference/CommonParameters.html and
 * https://docs.aws.amazon.com/autoscaling/ec2/APIReference/CommonErrors.html; the shapes of each
 * action are those of botocore's autoscaling 2011-01-01 service model.
 */

export const AUTOSCALING_XMLNS = "http://autoscaling.amazonaws.com/doc/2011-01-01/";
export const AUTOSCALING_VERSION = "2011-01-01";

/** Escape text content (AWS leaves quotes in element text as they are). */
export function xmlEscape(s: string): string {
  return s.replace(/[<>&]/g, (c) => (c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&amp;"));
}

/** An AWS query success document. */
export function queryResponse(action: string, resultXml: string | undefined, requestId: string): string {
  const result =
    resultXml === undefined || resultXml === ""
      ? `<${action}Result/>`
      : `<${action}Result>${resultXml}</${action}Result>`;
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<${action}Response xmlns="${AUTOSCALING_XMLNS}">\n  ${result}\n` +
    `  <ResponseMetadata>\n    <RequestId>${requestId}</RequestId>\n  </ResponseMetadata>\n</${action}Response>\n`
  );
}

/** An AWS query error document. */
export function queryError(
  type: "Sender" | "Receiver",
  code: string,
  message: string,
  requestId: string,
): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<ErrorResponse xmlns="${AUTOSCALING_XMLNS}">\n` +
    `  <Error>\n    <Type>${type}</Type>\n    <Code>${xmlEscape(code)}</Code>\n    <Message>${xmlEscape(message)}</Message>\n  </Error>\n` +
    `  <RequestId>${requestId}</RequestId>\n</ErrorResponse>\n`
  );
}

/** An error the API answers with: HTTP status, AWS error code, message. */
export class QueryError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly type: "Sender" | "Receiver" = "Sender",
  ) {
    super(message);
  }
}

export const validationError = (message: string) => new QueryError(400, "ValidationError", message);

/** "The operation can't be performed because there are scaling activities in progress." */
export const activityInProgress = (message: string) =>
  new QueryError(400, "ScalingActivityInProgress", message);

/** "You already have a pending update to an Auto Scaling resource." */
export const resourceContention = (message: string) =>
  new QueryError(500, "ResourceContention", message, "Receiver");

/** AWS's wording for missing required members: "Value null at 'lifecycleHookName' failed ...". */
export function requireParams(params: Record<string, string>, names: string[]): void {
  const missing = names.filter((n) => params[n] === undefined || params[n] === "");
  if (missing.length === 0) return;
  const parts = missing.map(
    (n) =>
      `Value null at '${n[0]!.toLowerCase()}${n.slice(1)}' failed to satisfy constraint: Member must not be null`,
  );
  const count = `${parts.length} validation error${parts.length > 1 ? "s" : ""} detected`;
  throw validationError(`${count}: ${parts.join("; ")}`);
}

/** A list parameter: `Name.member.1`, `Name.member.2`, ... in member order. */
export function listParam(params: Record<string, string>, name: string): string[] {
  const re = new RegExp(`^${name.replace(/\./g, "\\.")}\\.member\\.(\\d+)$`);
  return Object.entries(params)
    .map(([k, v]) => [re.exec(k)?.[1], v] as const)
    .filter((e): e is readonly [string, string] => e[0] !== undefined)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([, v]) => v);
}

export interface QueryFilter {
  name: string;
  values: string[];
}

/** `Filters.member.N.Name` with `Filters.member.N.Values.member.M`. */
export function filtersParam(params: Record<string, string>): QueryFilter[] {
  const indexes = new Set<number>();
  for (const k of Object.keys(params)) {
    const m = /^Filters\.member\.(\d+)\./.exec(k);
    if (m) indexes.add(Number(m[1]));
  }
  return [...indexes]
    .sort((a, b) => a - b)
    .map((n) => ({
      name: params[`Filters.member.${n}.Name`] ?? "",
      values: listParam(params, `Filters.member.${n}.Values`),
    }));
}

/** A boolean parameter as the query protocol sends it ("true"/"false"); undefined when absent. */
export function boolParam(params: Record<string, string>, name: string): boolean | undefined {
  const v = params[name];
  if (v === undefined) return undefined;
  if (v === "true") return true;
  if (v === "false") return false;
  throw validationError(
    `1 validation error detected: Value '${v}' at '${lowerFirst(name)}' failed to satisfy constraint: Member must be true or false`,
  );
}

/** A whole-number parameter; undefined when absent. */
export function intParam(params: Record<string, string>, name: string): number | undefined {
  const v = params[name];
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v))
    throw validationError(
      `1 validation error detected: Value '${v}' at '${lowerFirst(name)}' failed to satisfy constraint: Member must be a number`,
    );
  return Number(v);
}

function lowerFirst(s: string): string {
  return `${s[0]!.toLowerCase()}${s.slice(1)}`;
}

/**
 * One page of `items`: MaxRecords (default and most `limit`, AWS's bound for the action) and an
 * opaque NextToken (the offset, base64) when more remain. A token this API never gave is
 * InvalidNextToken, as AWS answers.
 */
export function paginate<T>(
  items: T[],
  params: Record<string, string>,
  limit: number,
  defaultMax = limit,
): { page: T[]; nextToken?: string } {
  const max = intParam(params, "MaxRecords") ?? defaultMax;
  if (max < 1 || max > limit)
    throw validationError(
      `1 validation error detected: Value '${params.MaxRecords}' at 'maxRecords' failed to satisfy constraint: Member must have value between 1 and ${limit}`,
    );
  let start = 0;
  if (params.NextToken) {
    const decoded = Buffer.from(params.NextToken, "base64").toString("utf8");
    const m = /^offset:(\d+)$/.exec(decoded);
    if (!m) throw new QueryError(400, "InvalidNextToken", "The token is invalid");
    start = Number(m[1]);
  }
  const page = items.slice(start, start + max);
  return start + max < items.length
    ? { page, nextToken: Buffer.from(`offset:${start + max}`).toString("base64") }
    : { page };
}

/** `<Name>text</Name>`, or nothing when the value is undefined. */
export function el(name: string, value: string | number | boolean | undefined): string {
  if (value === undefined) return "";
  return `<${name}>${xmlEscape(String(value))}</${name}>`;
}

/** `<Name><member>...</member>...</Name>` (an empty list is `<Name/>`). */
export function members<T>(name: string, items: T[], member: (item: T) => string): string {
  if (items.length === 0) return `<${name}/>`;
  return `<${name}>${items.map((i) => `<member>${member(i)}</member>`).join("")}</${name}>`;
}
