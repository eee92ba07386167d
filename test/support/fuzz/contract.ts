/**
 * Does a response keep the contract its OpenAPI document states? For one operation and one
 * response: not a 5xx; a status the operation documents; a body in a media type it documents,
 * valid against the schema declared there (error bodies against the shared error schemas,
 * success bodies against whatever the document declares, `$ref`s included). Uses Ajv's JSON
 * Schema 2020-12 dialect, the one of OpenAPI 3.1.
 */
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import type { Operation } from "./requests.ts";

export interface Answer {
  status: number;
  contentType: string | null;
  /** The body as text (empty when there is none). */
  text: string;
}

const DOC_ID = "https://shop.test/openapi.json";

/**
 * Answers any operation may give, documented once for the whole API (its description) rather
 * than per operation: Node's HTTP server refuses a request line or headers over 16 KiB itself.
 */
export const GENERIC_STATUSES: Record<number, string> = { 431: "Request Header Fields Too Large" };
const pointer = (segments: string[]) => segments.map((s) => s.replace(/~/g, "~0").replace(/\//g, "~1")).join("/");

export class ContractChecker {
  private readonly ajv: Ajv2020;
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly doc: any;

  constructor(doc: any) {
    this.doc = doc;
    // The document is not itself a schema: Ajv only follows pointers into it.
    this.ajv = new Ajv2020({ strict: false, allErrors: false, validateSchema: false, logger: false });
    addFormats.default(this.ajv);
    this.ajv.addFormat("binary", true);
    this.ajv.addSchema(doc, DOC_ID);
  }

  /** The response object for `status` (following a `$ref` into components.responses), and its pointer. */
  private response(op: Operation, status: number): { response: any; at: string[] } | null {
    const responses = op.op.responses as Record<string, any>;
    const key =
      String(status) in responses
        ? String(status)
        : `${String(status)[0]}XX` in responses
          ? `${String(status)[0]}XX`
          : "default" in responses
            ? "default"
            : null;
    if (!key) return null;
    let at = ["paths", op.path, op.method.toLowerCase(), "responses", key];
    let response = responses[key];
    while (typeof response?.$ref === "string") {
      at = (response.$ref as string)
        .replace(/^#\//, "")
        .split("/")
        .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
      response = at.reduce((node: any, k) => node?.[k], this.doc);
    }
    return { response, at };
  }

  private validator(at: string[]): ValidateFunction {
    const ref = `${DOC_ID}#/${pointer(at)}`;
    let fn = this.validators.get(ref);
    if (!fn) {
      fn = this.ajv.compile({ $ref: ref });
      this.validators.set(ref, fn);
    }
    return fn;
  }

  /** What is wrong with `answer` as a response of `op` (empty: nothing). */
  check(op: Operation, answer: Answer): string[] {
    if (answer.status >= 500) return [`${answer.status} (a server error): ${answer.text.slice(0, 300)}`];
    if (answer.status in GENERIC_STATUSES && !(String(answer.status) in op.op.responses)) return [];
    const found = this.response(op, answer.status);
    if (!found)
      return [
        `status ${answer.status} is not documented for ${op.method} ${op.path} ` +
          `(documented: ${Object.keys(op.op.responses).join(", ")}): ${answer.text.slice(0, 300)}`,
      ];
    const content = found.response?.content as Record<string, { schema?: unknown }> | undefined;
    if (!content || answer.status === 204 || answer.status === 302) {
      return answer.text.length && (answer.status === 204 || !content) && answer.status !== 302
        ? [`status ${answer.status} documents no body, but one came: ${answer.text.slice(0, 200)}`]
        : [];
    }
    const mediaType = (answer.contentType ?? "").split(";")[0]!.trim().toLowerCase();
    const documented = Object.keys(content);
    const media =
      documented.find((m) => m === mediaType) ??
      documented.find((m) => m === "*/*" || (m.endsWith("/*") && mediaType.startsWith(m.slice(0, -1))));
    if (!media)
      return [`status ${answer.status} answered ${answer.contentType ?? "no Content-Type"}, documented: ${documented.join(", ")}`];
    if (media !== "application/json" && !media.endsWith("+json")) return [];
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch {
      return [`status ${answer.status}: the body is not JSON: ${answer.text.slice(0, 200)}`];
    }
    if (content[media]?.schema === undefined) return [];
    const validate = this.validator([...found.at, "content", media, "schema"]);
    if (validate(body)) return [];
    const why = (validate.errors ?? []).map((e) => `${e.instancePath || "(body)"} ${e.message}`).join("; ");
    return [`status ${answer.status}: the body does not match its documented schema (${why}): ${answer.text.slice(0, 300)}`];
  }
}
