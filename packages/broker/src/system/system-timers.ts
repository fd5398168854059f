/**
 * Production `Timers` and `Clock` of the broker, under the names its composition root uses. The implementation lives
 * in `@gregor/storage` (`storage/src/system/system-timers.ts`): storage's own tests need real timers too and cannot
 * import the broker, and `@gregor/common` must stay pure. Only the composition root (`broker.ts`, the CLI) passes
 * these in; the logic takes the interfaces.
 */
export { systemClock, systemMonotonicClock, systemTimers } from '@gregor/storage'
