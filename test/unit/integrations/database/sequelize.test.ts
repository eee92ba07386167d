import { bindPlaceholders } from "../../../../integrations/database/sequelize.ts";

test("bindPlaceholders numbers bound values from 1, or from where earlier binds end", () => {
  expect(bindPlaceholders(3)).toBe("$1, $2, $3");
  expect(bindPlaceholders(1)).toBe("$1");
  expect(bindPlaceholders(5, 11)).toBe("$11, $12, $13, $14, $15");
});
