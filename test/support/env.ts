// Quiet, deterministic defaults for every test file; a suite sets the rest itself.
import os from "node:os";
import path from "node:path";

process.env.NODE_ENV ??= "test";
process.env.LOG_LEVEL ??= "warn";
process.env.METRICS ??= "false";
// Files the embedded defaults write (e-mails, uploads) stay out of the work tree.
process.env.MAIL_OUTBOX_DIR ??= path.join(os.tmpdir(), `shop-test-outbox-${process.pid}`);
process.env.STORAGE_DIR ??= path.join(os.tmpdir(), `shop-test-files-${process.pid}`);
process.env.SMS_OUTBOX_DIR ??= path.join(os.tmpdir(), `shop-test-sms-${process.pid}`);
// Outside production, secrets that are not set are generated there (lib/generated-secrets.ts).
process.env.SECRETS_DIR ??= path.join(os.tmpdir(), `shop-test-secrets-${process.pid}`);
