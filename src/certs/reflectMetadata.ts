/**
 * The part of the Reflect metadata API that tsyringe (a dependency of @peculiar/x509) calls: it throws at import
 * time without it (@peculiar/x509 README, "Reflect Polyfill Required"). Installed only when no real polyfill
 * (reflect-metadata) is loaded; the three functions keep their documented semantics over a WeakMap.
 */
type Store = Map<unknown, Map<string | symbol | undefined, unknown>>;

interface ReflectMetadata {
  getMetadata?: (key: unknown, target: object, property?: string | symbol) => unknown;
  getOwnMetadata?: (key: unknown, target: object, property?: string | symbol) => unknown;
  defineMetadata?: (key: unknown, value: unknown, target: object, property?: string | symbol) => void;
}

const reflect = Reflect as unknown as ReflectMetadata;

if (typeof reflect.getMetadata !== 'function') {
  const stores = new WeakMap<object, Store>();
  const own = (key: unknown, target: object, property?: string | symbol): unknown =>
    stores.get(target)?.get(key)?.get(property);
  reflect.getOwnMetadata = own;
  // getMetadata walks the prototype chain, as the reflect-metadata proposal specifies.
  reflect.getMetadata = (key, target, property) => {
    for (
      let current: object | null = target;
      current !== null;
      current = Object.getPrototypeOf(current) as object | null
    ) {
      const value = own(key, current, property);
      if (value !== undefined) return value;
    }
    return undefined;
  };
  reflect.defineMetadata = (key, value, target, property) => {
    const store = stores.get(target) ?? new Map<unknown, Map<string | symbol | undefined, unknown>>();
    stores.set(target, store);
    const byProperty = store.get(key) ?? new Map<string | symbol | undefined, unknown>();
    store.set(key, byProperty);
    byProperty.set(property, value);
  };
}

export {};
