import { smtpTransportUrl } from "../../../../integrations/email/transport.ts";

test("SMTP connections are pooled unless the URL says otherwise", () => {
  expect(smtpTransportUrl("smtp://127.0.0.1:1025")).toBe("smtp://127.0.0.1:1025?pool=true");
  expect(smtpTransportUrl("smtps://user:p%40ss@smtp.example.com:465")).toBe("smtps://user:p%40ss@smtp.example.com:465?pool=true");
  // Settings in the URL are kept, the pool's own too.
  expect(smtpTransportUrl("smtp://h:587?requireTLS=true&maxConnections=2")).toBe("smtp://h:587?requireTLS=true&maxConnections=2&pool=true");
  expect(smtpTransportUrl("smtp://h:25?pool=false")).toBe("smtp://h:25?pool=false");
});
