/**
 * The Sequelize db mixin: moleculer-db with the Sequelize adapter, configured from
 * lib/config.ts (PostgreSQL with DATABASE_URL, else the embedded SQLite file).
 *
 * What a service gets:
 *  - UUID primary keys (`idField: "id"`), createdAt/updatedAt, schema owned by migrations (no sync()).
 *  - an explicit public field list: nothing else ever leaves the service.
 *  - generic entity methods (findPage, getEntity, insertEntity, updateEntity, removeEntity,
 *    inTransaction) so services hold no copy-pasted CRUD, only their rules.
 *  - `<service>.created|updated|removed` events, emitted after the change is committed,
 *    and cache cleaning on every node (`cache.clean.<service>` is broadcast).
 *  - database errors mapped to client errors (unique → 409, check constraint → 409).
 *  - an internal `ready` action used by the gateway's readiness probe.
 *
 * Typed by entity: `DbMixin<Order>(...)` makes toPublic, getEntity, findPage, insertEntity,
 * updateEntity and removeEntity return `Order`s; a service's Methods extend `DbMethods<Order>`
 * and its Vars `DbVars`.
 */
import DbService from "moleculer-db";
import SqlAdapter from "moleculer-db-adapter-sequelize";
import { Errors, type Context, type Service, type ServiceSchema } from "moleculer";
import type { Mixin, ShopMeta } from "../types/moleculer.d.ts";
import {
  DataTypes,
  Op,
  QueryTypes,
  Sequelize,
  UniqueConstraintError,
  ValidationError as SequelizeValidationError,
  DatabaseError,
  type Model,
  type ModelAttributes,
  type Order,
  type ModelStatic,
  type Transaction,
  type WhereOptions,
} from "sequelize";
import { getConfig } from "../lib/config.ts";
import {
  DatabaseUnavailableError,
  isTransientDbError,
  runTransaction,
  sequelizeOptions,
  serializeTransactions,
  type TransactionOptions,
} from "../integrations/database/sequelize.ts";
import { conflict, invalidAll, notFound } from "../lib/errors.ts";
import { isUuid, likePattern, pageWindow, parseSort, SortError, toPage, type Page } from "../lib/listing.ts";

export interface DbMixinOptions {
  /** Table name; also the model name. */
  table: string;
  /** Columns besides id, createdAt and updatedAt. */
  attributes: ModelAttributes;
  /** The fields returned to callers. */
  publicFields: readonly string[];
  /** Fields allowed in `?sort=`; the first entry of `defaultSort` is used when none is given. */
  sortable: readonly string[];
  defaultSort: string;
  /** Fields matched by `?search=` (case-insensitive substring). */
  searchable?: readonly string[];
}

export interface PageQuery {
  page?: number;
  pageSize?: number;
  sort?: string;
  search?: string;
  where?: WhereOptions;
}

/** A row as plain values (any model of a service, or an entity before it is typed). */
export type Entity = Record<string, unknown>;
type EmitLater = (event: string, payload: unknown) => void;

/** The settings the mixin gives a service (moleculer-db's). */
export interface DbSettings {
  idField: string;
  fields: string[];
  maxPageSize: number;
}

/** What the mixin adds to a service's `this` besides methods: moleculer-db's adapter. */
export interface DbVars {
  adapter: { db: Sequelize; model: ModelStatic<Model> };
}

/** The methods the mixin adds; `TEntity` is the public shape of the service's rows. */
export interface DbMethods<TEntity extends object = Entity> {
  /** The entity as it leaves the service: its public fields only. */
  toPublic(row: Model | object): TEntity;
  findPage(query: PageQuery): Promise<Page<TEntity>>;
  /** A page of any model of the service (rows as plain objects, only `attributes`). */
  pageOf(
    model: ModelStatic<Model>,
    query: { page?: number; pageSize?: number; where?: WhereOptions; attributes: string[]; order: Order },
  ): Promise<Page<Entity>>;
  findRow(id: unknown, transaction?: Transaction): Promise<Model | null>;
  /** The row's values, as `findRow(id)?.get({ plain: true })` gives them (null: no such row). */
  findPlainRow(id: unknown): Promise<Record<string, unknown> | null>;
  /** The entity, or a 404. */
  getEntity(id: unknown): Promise<TEntity>;
  insertEntity(ctx: Context, values: Entity): Promise<TEntity>;
  /** In `transaction` when given: its cache cleaning and `<service>.updated` event wait for the commit. */
  updateEntity(ctx: Context, id: unknown, changes: Entity, transaction?: Transaction): Promise<TEntity>;
  removeEntity(ctx: Context, id: unknown): Promise<TEntity>;
  /**
   * One transaction, retried on a fresh connection when the database restarts under it (until
   * the request's deadline): `work` must do nothing but database work, as it may run again.
   */
  inTransaction<T>(
    ctx: Context,
    work: (t: Transaction, emitAfterCommit: EmitLater) => Promise<T>,
    options?: Pick<TransactionOptions, "idempotent">,
  ): Promise<T>;
  searchWhere(text: string): WhereOptions;
  mapDbError(err: unknown): unknown;
  /** moleculer-db: drop this service's cached reads on every node. */
  clearCache(): Promise<unknown>;
  /** moleculer-db: clean the cache and call the entity lifecycle hooks after a change. */
  entityChanged(type: "created" | "updated" | "removed", entity: unknown, ctx: Context): Promise<unknown>;
}

export function DbMixin<TEntity extends object = Entity>(opts: DbMixinOptions): Mixin {
  const cfg = getConfig();
  const entityName = opts.table.replace(/s$/, "").replace(/^./, (c) => c.toUpperCase());
  const publicFields = ["id", ...opts.publicFields.filter((f) => f !== "id")];

  const schema: ServiceSchema<DbSettings, DbMethods<TEntity>, DbVars> = {
    name: opts.table,
    mixins: [DbService],
    adapter: new SqlAdapter({ ...sequelizeOptions(cfg.database), noSync: true }),
    model: {
      name: opts.table,
      define: {
        id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
        ...opts.attributes,
      },
      options: { tableName: opts.table, timestamps: true },
    },
    settings: {
      idField: "id",
      fields: publicFields,
      maxPageSize: 100,
    },

    // moleculer-db's generic actions are switched off: each service declares its own,
    // with validation, access and REST routes, on top of the methods below.
    actions: {
      find: false,
      count: false,
      list: false,
      create: false,
      insert: false,
      get: false,
      update: false,
      remove: false,

      /** Readiness: can this node reach its database? Used by the gateway, never by HTTP. */
      ready: {
        visibility: "public",
        access: "internal",
        idempotent: true,
        async handler() {
          // One try: a probe answers now, it does not wait for a restart to finish.
          await this.adapter.db.authenticate({ retry: { max: 1 } });
          return { status: "ok" };
        },
      },
    },

    /** moleculer-db has connected the adapter: SQLite transactions of this node take turns. */
    started() {
      serializeTransactions(this.adapter.db);
    },

    /**
     * moleculer-db broadcasts `cache.clean.<service>` after every change (the service's name,
     * not the table's): every replica drops its cached reads. Known only once the service
     * schema is merged.
     */
    merged(service: ServiceSchema) {
      const fullName = service.version === undefined ? service.name : `v${service.version}.${service.name}`;
      service.events = {
        ...service.events,
        [`cache.clean.${fullName}`]: {
          handler(this: Service) {
            return this.broker.cacher?.clean(`${this.fullName}.**`);
          },
        },
      };
    },

    hooks: {
      error: {
        "*"(_ctx: Context, err: unknown) {
          throw this.mapDbError(err);
        },
      },
    },

    methods: {
      /**
       * moleculer-db's, except that a service none of whose actions caches anything (orders)
       * has nothing to drop and broadcasts nothing: no `cache.clean.<service>` to every node
       * after each of its changes.
       */
      clearCache(): Promise<unknown> {
        if (!cachesReads(this.schema.actions)) return Promise.resolve();
        this.broker.broadcast(`cache.clean.${this.fullName}`);
        return this.broker.cacher ? this.broker.cacher.clean(`${this.fullName}.**`) : Promise.resolve();
      },

      toPublic(row: Model | object): TEntity {
        const plain: Entity = isModel(row) ? row.get({ plain: true }) : { ...row };
        const out: Entity = {};
        for (const f of publicFields) if (f in plain) out[f] = plain[f];
        // The one place rows become entities: the public fields of a row of this table.
        return out as TEntity;
      },

      async findPage(query: PageQuery): Promise<Page<TEntity>> {
        const win = pageWindow(query.page, query.pageSize);
        const filters: WhereOptions[] = [];
        if (query.where) filters.push(query.where);
        if (query.search?.trim()) filters.push(this.searchWhere(query.search.trim()));
        let order;
        try {
          order = parseSort(query.sort, opts.sortable, opts.defaultSort);
        } catch (err) {
          if (err instanceof SortError) {
            throw invalidAll([{ type: "sort", field: "sort", message: err.message, actual: err.field }]);
          }
          throw err;
        }
        // A stable tie-breaker keeps pages from overlapping when sort values repeat.
        if (!order.some(([f]) => f === "id")) order.push(["id", "ASC"]);
        const { rows, count } = await this.adapter.model.findAndCountAll({
          where: filters.length ? { [Op.and]: filters } : undefined,
          order,
          limit: win.limit,
          offset: win.offset,
        });
        return toPage(
          rows.map((r) => this.toPublic(r)),
          count,
          win.page,
          win.pageSize,
        );
      },

      async pageOf(
        model: ModelStatic<Model>,
        query: { page?: number; pageSize?: number; where?: WhereOptions; attributes: string[]; order: Order },
      ) {
        const win = pageWindow(query.page, query.pageSize);
        const { rows, count } = await model.findAndCountAll({
          where: query.where,
          attributes: query.attributes,
          order: query.order,
          limit: win.limit,
          offset: win.offset,
        });
        return toPage(
          rows.map((r) => r.get({ plain: true }) as Entity),
          count,
          win.page,
          win.pageSize,
        );
      },

      searchWhere(text: string): WhereOptions {
        const fields = opts.searchable ?? [];
        const postgres = this.adapter.db.getDialect() === "postgres";
        return {
          [Op.or]: fields.map((f) =>
            postgres
              ? { [f]: { [Op.iLike]: likePattern(text) } }
              : // SQLite: plain substring test, no wildcard characters to escape.
                Sequelize.where(Sequelize.fn("instr", Sequelize.fn("lower", Sequelize.col(f)), text.toLowerCase()), Op.gt, 0),
          ),
        };
      },

      async findRow(id: unknown, transaction?: Transaction): Promise<Model | null> {
        // Ids are UUIDs: anything else cannot exist (and must not reach Postgres as a uuid).
        if (!isUuid(id)) return null;
        return this.adapter.model.findByPk(id, { transaction });
      },

      async findPlainRow(id: unknown): Promise<Record<string, unknown> | null> {
        if (!isUuid(id)) return null;
        const select = plainSelectOf(this.adapter.model);
        // The id in the statement's text (a UUID, checked above, escaped by Sequelize), not bound:
        // one simple-protocol message instead of Parse, Bind, Describe, Execute and Sync, which cost
        // PostgreSQL ~0.008 ms and this node ~0.009 ms more per read (docs/benchmarks.md, cut 23).
        if (select)
          return (await this.adapter.db.query<Record<string, unknown>>(select, { replacements: [id], type: QueryTypes.SELECT }))[0] ?? null;
        const row = await this.findRow(id);
        return row ? { ...row.get({ plain: true }) } : null;
      },

      async getEntity(id: unknown): Promise<TEntity> {
        const row = await this.findRow(id);
        if (!row) throw notFound(entityName, id);
        return this.toPublic(row);
      },

      async insertEntity(ctx: Context, values: Entity): Promise<TEntity> {
        const row = await this.adapter.model.create(values);
        const entity = this.toPublic(row);
        await this.entityChanged("created", entity, ctx);
        ctx.emit(`${this.name}.created`, entity);
        return entity;
      },

      async updateEntity(ctx: Context, id: unknown, changes: Entity, transaction?: Transaction): Promise<TEntity> {
        const row = await this.findRow(id, transaction);
        if (!row) throw notFound(entityName, id);
        await row.update(changes, { transaction });
        const entity = this.toPublic(row);
        const announce = async () => {
          await this.entityChanged("updated", entity, ctx);
          ctx.emit(`${this.name}.updated`, entity);
        };
        if (transaction) transaction.afterCommit(announce);
        else await announce();
        return entity;
      },

      async removeEntity(ctx: Context, id: unknown): Promise<TEntity> {
        const row = await this.findRow(id);
        if (!row) throw notFound(entityName, id);
        await row.destroy();
        const entity = this.toPublic(row);
        await this.entityChanged("removed", entity, ctx);
        ctx.emit(`${this.name}.removed`, entity);
        return entity;
      },

      /**
       * Run `work` in one transaction; events queued with `emitAfterCommit` are sent only
       * once the transaction has committed (never for a rolled-back change).
       */
      async inTransaction<T>(
        ctx: Context,
        work: (t: Transaction, emitAfterCommit: EmitLater) => Promise<T>,
        options: Pick<TransactionOptions, "idempotent"> = {},
      ): Promise<T> {
        let queued: [string, unknown][] = [];
        const result = await runTransaction(
          this.adapter.db,
          (t) => {
            queued = []; // a retried attempt queues its own
            return work(t, (event, payload) => queued.push([event, payload]));
          },
          { ...options, deadline: deadlineOf(ctx) },
        );
        await this.clearCache();
        for (const [event, payload] of queued) ctx.emit(event, payload);
        return result;
      },

      mapDbError(err: unknown): unknown {
        // Already typed by whoever threw it (an outage of the SMS or OpenID provider, a 4xx, a
        // call's error): its message may quote a socket error (ECONNREFUSED) without being the database's.
        if (err instanceof Errors.MoleculerError) return err;
        if (isTransientDbError(err)) return new DatabaseUnavailableError(err);
        // 23514 / SQLite CHECK (which Sequelize reports as a unique error): a rule such as
        // "stock >= 0" would be broken.
        const parent = (err as { parent?: { code?: string; message?: string } })?.parent;
        if (err instanceof DatabaseError || err instanceof UniqueConstraintError) {
          if (parent?.code === "23514" || /CHECK constraint failed/.test(parent?.message ?? "")) {
            return conflict("The change would break a rule of the data (a check constraint).", "CONSTRAINT_VIOLATION");
          }
        }
        if (err instanceof UniqueConstraintError) {
          // PostgreSQL reports { email: "a@b.co" }, SQLite ["email"]: the column names either way.
          const fields = Array.isArray(err.fields) ? err.fields.map(String) : Object.keys(err.fields ?? {});
          return conflict(`${entityName} with this ${fields.join(", ") || "key"} already exists.`, "CONFLICT", { fields });
        }
        if (err instanceof SequelizeValidationError) {
          const problems = err.errors.map((e) => ({ type: e.validatorKey ?? "invalid", field: e.path ?? "", message: e.message }));
          return invalidAll(problems, { message: "Validation failed." });
        }
        return err;
      },
    },
  };
  return schema;
}

/** Does any of these actions cache its results (`cache: true` or `cache: { … }`)? */
export function cachesReads(actions: Record<string, unknown> | undefined): boolean {
  return Object.values(actions ?? {}).some((a) => typeof a === "object" && a !== null && "cache" in a && !!a.cache);
}

function isModel(row: Model | object): row is Model {
  return typeof (row as Partial<Model>).get === "function";
}

/**
 * The one `SELECT` of a row by id that gives what a model instance's plain values would,
 * without building the instance (~0.03-0.06 ms of CPU per read): on PostgreSQL, whose driver
 * returns the same types through Sequelize's parsers, and for a model without getters or
 * setters. Null elsewhere (SQLite answers booleans as 0/1 and dates as text; the instance
 * converts them): there the instance is read.
 */
const plainSelects = new WeakMap<ModelStatic<Model>, string | null>();
function plainSelectOf(model: ModelStatic<Model>): string | null {
  let select = plainSelects.get(model);
  if (select === undefined) {
    const attributes = Object.entries(model.getAttributes());
    const computed = attributes.some(([, a]) => a.get || a.set || a.type instanceof DataTypes.VIRTUAL);
    const key = model.primaryKeyAttribute;
    select =
      model.sequelize?.getDialect() !== "postgres" || computed || key !== "id"
        ? null
        : `SELECT ${attributes.map(([name, a]) => (a.field && a.field !== name ? `"${a.field}" AS "${name}"` : `"${name}"`)).join(", ")} ` +
          `FROM "${model.getTableName() as string}" WHERE "${model.getAttributes()[key]!.field ?? key}" = ?`;
    plainSelects.set(model, select);
  }
  return select;
}

/** When the request that `ctx` belongs to gives up (ms since the epoch); undefined: no deadline. */
export function deadlineOf(ctx: Context<unknown, ShopMeta> | undefined): number | undefined {
  // The gateway's own deadline travels in meta; this node's view of the call's timeout counts
  // from when the call reached it, which may be later than the gateway thinks (a slow hop).
  const gateway: unknown = ctx?.meta?.deadline;
  const timeout = ctx?.options?.timeout;
  const started = ctx?.startHrTime;
  let local: number | undefined;
  if (timeout && timeout > 0 && started) {
    const [s, ns] = process.hrtime(started);
    local = Date.now() + timeout - (s * 1000 + ns / 1e6);
  }
  const both = [typeof gateway === "number" ? gateway : undefined, local].filter((d): d is number => d !== undefined);
  return both.length ? Math.min(...both) : undefined;
}
