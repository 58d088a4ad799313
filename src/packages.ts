/**
 * import() of a package a command loads only when it needs it (vega, stripe,
 * @inquirer/prompts, cli-progress). One place, because the start-up bundle
 * (scripts/bundle.mjs) answers it from its loader, bin/load-bundle.cjs: code
 * compiled from a V8 code cache made by another process has no import() hook
 * of its own, so the bundle's imports are made from a module Node loads itself.
 */
export function importPackage<T>(name: string): Promise<T> {
  return import(name) as Promise<T>;
}
