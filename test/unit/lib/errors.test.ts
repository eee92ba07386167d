import { Errors } from "moleculer";
import { conflict, invalid, invalidAll, notFound } from "../../../lib/errors.ts";
import { toHttpError } from "../../../services/api/http-errors.ts";

describe("the error helpers", () => {
  test("invalid: a 422 for one field, its message the field's", () => {
    const err = invalid("password", "Too short.", "passwordPolicy");
    expect(err).toBeInstanceOf(Errors.ValidationError);
    expect(toHttpError(err)).toMatchObject({
      status: 422,
      body: {
        name: "ValidationError",
        message: "Too short.",
        code: 422,
        type: "VALIDATION_ERROR",
        data: [{ type: "passwordPolicy", field: "password", message: "Too short." }],
      },
    });
  });

  test("invalidAll: every problem, the first one's message unless given, another type when asked", () => {
    const problems = [
      { type: "duplicate", field: "items[1].productId", message: "Listed twice." },
      { type: "currency", field: "currency", message: "Not a currency.", actual: "EURO" },
    ];
    const body = { name: "ValidationError", message: "Listed twice.", code: 422, type: "VALIDATION_ERROR", data: problems };
    expect(toHttpError(invalidAll(problems)).body).toEqual(body);
    const refused = invalidAll(problems.slice(1), { message: "Nothing to update.", type: "INPUT_REFUSED" });
    expect(toHttpError(refused).body).toMatchObject({
      message: "Nothing to update.",
      type: "INPUT_REFUSED",
      data: [{ field: "currency", actual: "EURO" }],
    });
  });

  test("notFound and conflict: 404 with the id, 409 with its own type and data", () => {
    const missing = { name: "MoleculerClientError", message: "Order not found.", code: 404, type: "NOT_FOUND", data: { id: "o-1" } };
    expect(toHttpError(notFound("Order", "o-1")).body).toEqual(missing);
    expect(toHttpError(notFound("File")).body).not.toHaveProperty("data");
    expect(toHttpError(conflict("Sold out.", "INSUFFICIENT_STOCK", { productIds: ["p"] }))).toMatchObject({
      status: 409,
      body: { message: "Sold out.", type: "INSUFFICIENT_STOCK", data: { productIds: ["p"] } },
    });
  });
});
