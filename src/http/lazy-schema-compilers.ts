// Fastify compiles every route's validators (Ajv) and response serializers (fast-json-stringify)
// while the app starts; with ~100 routes that is a large share of a cold start, and most routes of a
// given deployment are never called. These factories wrap Fastify's own compilers so that a route's
// schema is compiled on its first request instead, with the same compiler and the same options.
import { createRequire } from "node:module";
import type { FastifyServerOptions } from "fastify";

type Validate = ((data: unknown) => unknown) & { errors?: unknown };
type Serialize = (data: unknown) => string;
type RouteCompiler<F> = (route: Record<string, unknown>) => F;
type CompilerFactory<F> = (externalSchemas: unknown, options: unknown) => RouteCompiler<F>;

/**
 * Fastify's default compiler factories, resolved from Fastify's own location (they are its
 * dependencies) when the first schema is compiled: Ajv itself is not loaded before then.
 */
let defaults: { validator: CompilerFactory<Validate>; serializer: CompilerFactory<Serialize> } | undefined;
function fastifyDefaults(): { validator: CompilerFactory<Validate>; serializer: CompilerFactory<Serialize> } {
  if (!defaults) {
    const requireFromHere = createRequire(import.meta.url);
    const requireFromFastify = createRequire(requireFromHere.resolve("fastify"));
    const ajvCompiler = requireFromFastify("@fastify/ajv-compiler") as () => CompilerFactory<Validate>;
    const serializerCompiler = requireFromFastify("@fastify/fast-json-stringify-compiler") as {
      SerializerSelector: () => CompilerFactory<Serialize>;
    };
    defaults = { validator: ajvCompiler(), serializer: serializerCompiler.SerializerSelector() };
  }
  return defaults;
}

const lazyValidators: CompilerFactory<Validate> = (externalSchemas, options) => {
  let compile: RouteCompiler<Validate> | undefined;
  return (route) => {
    let compiled: Validate | undefined;
    const validate: Validate = (data) => {
      compile ??= fastifyDefaults().validator(externalSchemas, options);
      compiled ??= compile(route);
      const result = compiled(data);
      // Fastify reads a failed validation's errors from the function it was given.
      validate.errors = compiled.errors;
      return result;
    };
    return validate;
  };
};

const lazySerializers: CompilerFactory<Serialize> = (externalSchemas, options) => {
  let compile: RouteCompiler<Serialize> | undefined;
  return (route) => {
    let compiled: Serialize | undefined;
    return (data) => {
      compile ??= fastifyDefaults().serializer(externalSchemas, options);
      compiled ??= compile(route);
      return compiled(data);
    };
  };
};

/** Fastify's `schemaController` option that compiles each route's schemas on first use. */
export function compileSchemasOnFirstUse(): NonNullable<FastifyServerOptions["schemaController"]> {
  return {
    compilersFactory: { buildValidator: lazyValidators, buildSerializer: lazySerializers },
  } as unknown as NonNullable<FastifyServerOptions["schemaController"]>;
}
