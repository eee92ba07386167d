/**
 * `Content-Disposition: attachment` with the file's name (RFC 6266): an ASCII fallback in
 * `filename=` and the exact UTF-8 name in `filename*=` (RFC 8187).
 */
export function contentDisposition(filename: string, type: "attachment" | "inline" = "attachment"): string {
  const fallback =
    filename
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "") // accents off: "é" → "e"
      .replace(/[^\x20-\x7e]/g, "_")
      .replace(/["\\%]/g, "_")
      .trim() || "file";
  const encoded = encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${type}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
