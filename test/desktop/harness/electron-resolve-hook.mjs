// The resolve hook register-electron.mjs installs: only the bare specifier `electron` is changed,
// resolved (by the rest of the chain, tsx included) as the stand-in next to this file.
const STANDIN = new URL('./electron-main-standin.ts', import.meta.url).href;

export async function resolve(specifier, context, next) {
  if (specifier === 'electron') return next(STANDIN, context);
  return next(specifier, context);
}
