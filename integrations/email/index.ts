export * from "./templates.ts";
export * from "./notifications.ts";
export * from "./transport.ts";
