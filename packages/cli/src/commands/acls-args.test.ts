import { describe, expect, test } from 'vitest'
import { aclTable, bindingsToAdd, filtersToList, filtersToRemove, operationName } from './acls-args.js'
import { UsageError } from './command-args.js'

describe('gregor acls arguments (kafka-acls shape)', () => {
  test('operations in Kafka\'s CamelCase, kebab or upper case', () => {
    expect(operationName('Read')).toBe('READ')
    expect(operationName('DescribeConfigs')).toBe('DESCRIBE_CONFIGS')
    expect(operationName('idempotent-write')).toBe('IDEMPOTENT_WRITE')
    expect(operationName('ALTER_CONFIGS')).toBe('ALTER_CONFIGS')
    expect(operationName('Fly')).toBeUndefined()
  })

  test('add: every principal x host x operation x resource; cluster is the LITERAL kafka-cluster', () => {
    const bindings = bindingsToAdd({
      'allow-principal': ['User:alice'], 'allow-host': ['10.0.0.1'], 'deny-principal': ['User:bob'],
      operation: ['Read', 'Write'], topic: ['a'], 'resource-pattern-type': 'prefixed',
    })
    expect(bindings).toEqual([
      { resourceType: 'TOPIC', resourceName: 'a', patternType: 'PREFIXED', principal: 'User:alice', host: '10.0.0.1', permission: 'ALLOW', operation: 'READ' },
      { resourceType: 'TOPIC', resourceName: 'a', patternType: 'PREFIXED', principal: 'User:alice', host: '10.0.0.1', permission: 'ALLOW', operation: 'WRITE' },
      { resourceType: 'TOPIC', resourceName: 'a', patternType: 'PREFIXED', principal: 'User:bob', host: '*', permission: 'DENY', operation: 'READ' },
      { resourceType: 'TOPIC', resourceName: 'a', patternType: 'PREFIXED', principal: 'User:bob', host: '*', permission: 'DENY', operation: 'WRITE' },
    ])
    expect(bindingsToAdd({ 'allow-principal': ['User:ops'], operation: ['Alter'], cluster: true })).toEqual([
      { resourceType: 'CLUSTER', resourceName: 'kafka-cluster', patternType: 'LITERAL', principal: 'User:ops', host: '*', permission: 'ALLOW', operation: 'ALTER' },
    ])
  })

  test('add refuses what kafka-acls refuses, listing every problem', () => {
    expect(() => bindingsToAdd({})).toThrow(UsageError)
    try {
      bindingsToAdd({ 'allow-principal': ['alice'], operation: ['Fly'], 'resource-pattern-type': 'glob', 'deny-host': ['h'] })
    } catch (error) {
      expect((error as UsageError).problems).toEqual([
        '--resource-pattern-type: literal, prefixed; not glob',
        'name a resource: --topic T, --group G or --cluster',
        '--operation Fly: one of Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, All',
        'principal alice: must be User:<name> (or User:*)',
        '--deny-host needs --deny-principal',
      ])
    }
  })

  test('remove: exact filters, or every ACL of the resource; list: by resource and principal, else everything', () => {
    expect(filtersToRemove({ group: ['g'] })).toEqual([{ resourceType: 'GROUP', resourceName: 'g', patternType: 'LITERAL', operation: 'ANY', permission: 'ANY' }])
    expect(filtersToRemove({ topic: ['a'], 'allow-principal': ['User:alice'], operation: ['Write'] })).toEqual([
      { resourceType: 'TOPIC', resourceName: 'a', patternType: 'LITERAL', principal: 'User:alice', host: '*', permission: 'ALLOW', operation: 'WRITE' },
    ])
    expect(filtersToList({})).toEqual([{ resourceType: 'ANY', patternType: 'ANY', operation: 'ANY', permission: 'ANY' }])
    expect(filtersToList({ topic: ['a'], principal: 'User:alice' })).toEqual([
      { resourceType: 'TOPIC', resourceName: 'a', patternType: 'ANY', operation: 'ANY', permission: 'ANY', principal: 'User:alice' },
    ])
  })

  test('the table aligns its columns', () => {
    expect(aclTable([{ resourceType: 'TOPIC', resourceName: 'a', patternType: 'LITERAL', principal: 'User:alice', host: '*', operation: 'WRITE', permission: 'ALLOW' }])).toEqual([
      'RESOURCE_TYPE  RESOURCE_NAME  PATTERN_TYPE  PRINCIPAL   HOST  OPERATION  PERMISSION',
      'TOPIC          a              LITERAL       User:alice  *     WRITE      ALLOW',
    ])
  })
})
