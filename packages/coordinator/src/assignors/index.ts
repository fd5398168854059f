/**
 * The server-side assignors by name (Kafka's `group.consumer.assignors`: uniform, range).
 */
import type { AssignorName } from '../coordinator-config.js'
import type { Assignor } from './assignor.js'
import { rangeAssign } from './range-assignor.js'
import { uniformAssign } from './uniform-assignor.js'

export type { Assignor, AssignorInput, AssignorMember } from './assignor.js'

export const assignors: Readonly<Record<AssignorName, Assignor>> = Object.freeze({ uniform: uniformAssign, range: rangeAssign })
