import { TransformationType } from 'class-transformer';
import type { MetadataStorage as TransformerMetadataStorage } from 'class-transformer/types/MetadataStorage';
import { getMetadataStorage, ValidationTypes, type ValidationArguments, type ValidatorConstraintInterface } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';

type Class = new () => object;

// The store behind class-transformer's decorators (`@Type`, `@Transform`); the package exports no other way to it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { defaultMetadataStorage } = require('class-transformer/cjs/storage') as { defaultMetadataStorage: TransformerMetadataStorage };

/** What class-validator's executor would run for one property, and what class-transformer would do to its value. */
interface PropertyPlan {
  readonly name: string;
  /** `@IsOptional` / `@ValidateIf`: the property is validated only when every one holds. */
  readonly conditions: ((object: object, value: unknown) => boolean)[];
  readonly checks: { validator: ValidatorConstraintInterface; each: boolean; constraints: unknown[] }[];
  /** `@ValidateNested` with `@Type`: the class of the nested object(s). */
  readonly nested?: ClassPlan;
  /** `@Transform` functions for plain-to-class, in order. */
  readonly transforms: ((params: { value: unknown; key: string; obj: unknown; type: TransformationType; options: object }) => unknown)[];
}

/** Nest's ValidationPipe strips these keys from a body before anything else; a body holding one takes the full path. */
const RESERVED_KEYS = ['__proto__', 'prototype', 'constructor'];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Whether a decoded JSON value holds, at any depth, a key the full pipeline would strip. */
function holdsReservedKeys(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some(holdsReservedKeys);
  for (const key of RESERVED_KEYS) if (Object.hasOwn(value, key)) return true;
  return Object.values(value).some(holdsReservedKeys);
}

class ClassPlan {
  readonly properties: PropertyPlan[] = [];
  readonly names: ReadonlySet<string>;

  constructor(
    readonly target: Class,
    plans: Map<Class, ClassPlan>,
  ) {
    plans.set(target, this);
    // As class-validator's executor reads them for the pipe's options (no groups, `always` false).
    const metadatas: ValidationMetadata[] = getMetadataStorage().getTargetValidationMetadatas(target, '', false, false);
    const byName = new Map<string, ValidationMetadata[]>();
    for (const m of metadatas) byName.set(m.propertyName, [...(byName.get(m.propertyName) ?? []), m]);
    this.names = new Set(byName.keys());
    for (const [name, list] of byName) {
      const plan: PropertyPlan = {
        name,
        conditions: [],
        checks: [],
        transforms: defaultMetadataStorage
          .findTransformMetadatas(target, name, TransformationType.PLAIN_TO_CLASS)
          .map((t) => t.transformFn as PropertyPlan['transforms'][number]),
      };
      for (const m of list) {
        switch (m.type) {
          case ValidationTypes.CONDITIONAL_VALIDATION:
            plan.conditions.push(m.constraints[0] as PropertyPlan['conditions'][number]);
            break;
          case ValidationTypes.CUSTOM_VALIDATION:
            for (const c of getMetadataStorage().getTargetValidatorConstraints(m.constraintCls)) {
              if (c.async) throw new Error(`${target.name}.${name}: asynchronous validator`);
              plan.checks.push({ validator: c.instance, each: m.each, constraints: m.constraints });
            }
            break;
          case ValidationTypes.NESTED_VALIDATION: {
            const type = defaultMetadataStorage.findTypeMetadata(target, name)?.typeFunction() as Class | undefined;
            if (!type) throw new Error(`${target.name}.${name}: nested without @Type`);
            (plan as { nested?: ClassPlan }).nested = plans.get(type) ?? new ClassPlan(type, plans);
            break;
          }
          case ValidationTypes.WHITELIST:
            break;
          default:
            throw new Error(`${target.name}.${name}: validation of type ${m.type}`);
        }
      }
      this.properties.push(plan);
    }
  }

  /**
   * The instance class-transformer would build from `source`, if class-validator would find nothing wrong with it;
   * otherwise, or for anything but plain JSON objects, undefined.
   */
  build(source: unknown): object | undefined {
    if (!isPlainObject(source)) return undefined;
    const instance = new this.target() as Record<string, unknown>;
    for (const key of Object.keys(source)) {
      // forbidNonWhitelisted: an unknown key is an error.
      if (!this.names.has(key)) return undefined;
    }
    for (const plan of this.properties) {
      if (!Object.hasOwn(source, plan.name)) continue;
      let value = source[plan.name];
      if (plan.nested) {
        if (Array.isArray(value)) {
          const items = new Array<unknown>(value.length);
          for (let i = 0; i < value.length; i++) {
            const item = plan.nested.build(value[i]);
            if (item === undefined) return undefined;
            items[i] = item;
          }
          value = items;
        } else if (value !== null && value !== undefined) {
          value = plan.nested.build(value);
          if (value === undefined) return undefined;
        }
      } else if (holdsReservedKeys(value)) {
        return undefined;
      }
      for (const transform of plan.transforms) value = transform({ value, key: plan.name, obj: source, type: TransformationType.PLAIN_TO_CLASS, options: {} });
      instance[plan.name] = value;
    }
    return this.valid(instance) ? instance : undefined;
  }

  private valid(instance: Record<string, unknown>): boolean {
    for (const plan of this.properties) {
      const value = instance[plan.name];
      if (!plan.conditions.every((condition) => condition(instance, value))) continue;
      for (const { validator, each, constraints } of plan.checks) {
        const args: ValidationArguments = { targetName: this.target.name, property: plan.name, object: instance, value, constraints };
        const ok = each && Array.isArray(value) ? value.every((v) => validator.validate(v, args) === true) : validator.validate(value, args) === true;
        if (!ok) return false;
      }
    }
    return true;
  }
}

/**
 * Validates and transforms a decoded JSON body as `ValidationPipe({ whitelist, forbidNonWhitelisted, transform })`
 * does, from the same class-validator and class-transformer metadata and validators, without their per-value
 * machinery: for a small request that machinery is most of the cost of accepting it. It only answers for a body
 * with nothing wrong: anything else (an error, a value that is not plain JSON) gets undefined, and the pipe's full
 * path finds and words the problems.
 */
export class ValidationFastPath {
  private readonly plan: ClassPlan;

  constructor(target: Class) {
    this.plan = new ClassPlan(target, new Map());
  }

  build<T extends object>(value: unknown): T | undefined {
    return this.plan.build(value) as T | undefined;
  }
}
