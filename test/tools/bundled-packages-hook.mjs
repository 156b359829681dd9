/* The resolve hook of bundled-packages.mjs: a bare package name it knows goes to its bundle. */
let map = {};

export function initialize(data) {
  map = data;
}

export async function resolve(specifier, context, next) {
  const url = map[specifier];
  if (url !== undefined) return { url, format: 'module', shortCircuit: true };
  return next(specifier, context);
}
