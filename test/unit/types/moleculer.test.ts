/**
 * types/moleculer.d.ts, checked by the type check (`npm run typecheck` compiles the tests): each
 * `@ts-expect-error` below fails the check the day the augmentation stops refusing what it marks.
 */
import { ServiceBroker, type Context, type ServiceSchema } from "moleculer";
import type { Mixin, ShopMeta } from "../../../types/moleculer.d.ts";

interface CounterVars {
  count: number;
}

const counter: Partial<ServiceSchema<object, { bump(): number }, CounterVars>> = {
  created() {
    this.count = 0;
  },
  methods: {
    bump() {
      return ++this.count;
    },
  },
};
const CounterMixin: Mixin = counter;

const probe: ServiceSchema<{ greeting: string }, { bump(): number }, CounterVars> = {
  name: "probe",
  mixins: [CounterMixin],
  settings: { greeting: "hello" },
  actions: {
    hello: {
      access: "public",
      handler(ctx: Context<unknown, ShopMeta>) {
        // @ts-expect-error ctx.meta is ShopMeta: a field nobody declared is a type error
        void ctx.meta.somethingElse;
        return `${this.settings.greeting} ${ctx.meta.user?.id ?? "anonymous"} ${this.bump()}`;
      },
    },
    // @ts-expect-error every action declares `access`: leaving it off is a type error
    undeclared: {
      handler() {
        return "never typed";
      },
    },
  },
};

describe("Moleculer's types, augmented (types/moleculer.d.ts)", () => {
  test("a typed service with a typed mixin runs as Moleculer sees it", async () => {
    const broker = new ServiceBroker({ logger: false });
    broker.createService(probe);
    await broker.start();
    try {
      await expect(broker.call("probe.hello", {}, { meta: { user: { id: "u-1", role: "user" } } })).resolves.toBe("hello u-1 1");
      await expect(broker.call("probe.hello")).resolves.toBe("hello anonymous 2");
    } finally {
      await broker.stop();
    }
  });
});
