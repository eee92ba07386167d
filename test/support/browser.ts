/**
 * A browser without a browser, for redirect flows (OpenID Connect sign-in): fetch with
 * redirects followed by hand, cookies kept per host and path as a browser keeps them (Max-Age=0
 * deletes), and HTML forms found in a page submitted with their hidden fields plus what the test
 * types in.
 */
export interface Page {
  url: URL;
  status: number;
  headers: Headers;
  text: string;
}

interface Cookie {
  host: string;
  path: string;
  value: string;
}

export class Browser {
  readonly cookies = new Map<string, Cookie>();

  cookieHeader(url: URL): string {
    return [...this.cookies.entries()]
      .filter(
        ([, c]) =>
          c.host === url.hostname && (url.pathname === c.path || url.pathname.startsWith(c.path.endsWith("/") ? c.path : `${c.path}/`)),
      )
      .map(([key, c]) => `${key.split("\u0000")[2]}=${c.value}`)
      .join("; ");
  }

  cookie(name: string): string | undefined {
    return [...this.cookies.entries()].find(([key]) => key.split("\u0000")[2] === name)?.[1].value;
  }

  #store(url: URL, headers: Headers) {
    for (const line of headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";").map((p) => p.trim());
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq);
      const attr = Object.fromEntries(attributes.map((a) => [a.split("=")[0]!.toLowerCase(), a.split("=").slice(1).join("=")]));
      const path = attr.path || "/";
      const key = `${url.hostname}\u0000${path}\u0000${name}`;
      if (attr["max-age"] === "0" || (attr.expires && Date.parse(attr.expires) < Date.now())) this.cookies.delete(key);
      else this.cookies.set(key, { host: url.hostname, path, value: pair.slice(eq + 1) });
    }
  }

  /** One request, no redirect followed. */
  async request(
    url: URL | string,
    init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {},
  ): Promise<Page> {
    const target = new URL(url);
    const cookie = this.cookieHeader(target);
    const res = await fetch(target, {
      method: init.method ?? (init.form ? "POST" : "GET"),
      redirect: "manual",
      headers: {
        ...init.headers,
        ...(cookie ? { cookie } : {}),
        ...(init.form ? { "content-type": "application/x-www-form-urlencoded" } : {}),
      },
      body: init.form ? new URLSearchParams(init.form).toString() : undefined,
    });
    this.#store(target, res.headers);
    return { url: target, status: res.status, headers: res.headers, text: await res.text() };
  }

  /**
   * Follow redirects from `url`; on a page with a form, submit it with `fill(hidden fields)`.
   * Stops before requesting a URL that `stopAt` accepts (and returns it), or at a page without a form.
   */
  async browse(
    url: URL | string,
    options: { stopAt: (url: URL) => boolean; fill: (fields: Record<string, string>, page: Page) => Record<string, string> },
  ) {
    let page = await this.request(url);
    for (let step = 0; step < 20; step++) {
      const location = page.headers.get("location");
      if (page.status >= 300 && page.status < 400 && location) {
        const next = new URL(location, page.url);
        if (options.stopAt(next)) return { stoppedAt: next, page };
        page = await this.request(next);
        continue;
      }
      const form = page.text.match(/<form[^>]*action="([^"]+)"[^>]*method="post"/i);
      if (page.status !== 200 || !form) return { stoppedAt: null, page };
      const hidden = Object.fromEntries(
        [...page.text.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]),
      );
      page = await this.request(new URL(form[1]!.replace(/&amp;/g, "&"), page.url), { form: options.fill(hidden, page) });
    }
    throw new Error(`Too many steps, last at ${page.url.href}`);
  }
}
