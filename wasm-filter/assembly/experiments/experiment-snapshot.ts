// The `experiments` member of the filter snapshot (FilterSnapshot.experiments
// in proto/v1/control-snapshot.ts): [{id, salt, routes: [prefix], arms:
// [{name, weight_bp}]}]. Optional (absent = none), parsed with the bounded
// reader like the rest; an invalid entry refuses the whole snapshot.
// No host calls.

import { FieldReader, indexed, member } from '../json/field-reader';
import { JsonKind } from '../json/json-scanner';
import { hasPrefix } from '../text/identifiers';
import { BUCKETS, FilterExperiment } from './filter-experiment';

const MAX_EXPERIMENTS: i32 = 64;
const MAX_ARMS: i32 = 8;
const MAX_ROUTES: i32 = 16;
const MAX_ID_CHARS: i32 = 64;
const MAX_ROUTE_CHARS: i32 = 256;
// Nesting: { experiments: [ { routes: [..], arms: [ { ... } ] } ] }.
const DEPTH_EXPERIMENT_OBJECT: i32 = 3;
const DEPTH_ARM_OBJECT: i32 = 5;

export function readExperiments(reader: FieldReader, field: string, into: FilterExperiment[]): void {
  if (!reader.expectKind(field, JsonKind.ARRAY, 'an array')) return;
  if (!reader.scanner.openArray()) return;
  let index: i32 = 0;
  while (true) {
    if (index >= MAX_EXPERIMENTS) {
      reader.fail(field, 'has more than ' + MAX_EXPERIMENTS.toString() + ' elements');
      return;
    }
    const e = readExperiment(reader, indexed(field, index));
    if (reader.failed || e === null) return;
    into.push(e);
    index++;
    if (!reader.scanner.nextArrayElement()) return;
  }
}

function readExperiment(reader: FieldReader, field: string): FilterExperiment | null {
  const sc = reader.scanner;
  if (!reader.expectKind(field, JsonKind.OBJECT, 'an object')) return null;
  const e = new FilterExperiment();
  if (sc.openObject()) {
    while (true) {
      const key = sc.readKey();
      if (sc.failed) return null;
      const path = member(field, key);
      if (key == 'id') e.id = reader.identifier(path, MAX_ID_CHARS);
      else if (key == 'salt') e.salt = reader.identifier(path, MAX_ID_CHARS);
      else if (key == 'routes') readRoutes(reader, path, e.routes);
      else if (key == 'arms') readArms(reader, path, e);
      else sc.skipValue(DEPTH_EXPERIMENT_OBJECT);
      if (reader.failed) return null;
      if (!sc.nextObjectMember()) break;
    }
  }
  if (sc.failed) return null;
  if (e.id.length == 0 || e.salt.length == 0) {
    reader.fail(member(field, e.id.length == 0 ? 'id' : 'salt'), 'is required');
    return null;
  }
  let total: u32 = 0;
  for (let i = 0; i < e.armWeights.length; i++) total += unchecked(e.armWeights[i]);
  if (total != BUCKETS) {
    reader.fail(member(field, 'arms'), 'weight_bp must sum to ' + BUCKETS.toString());
    return null;
  }
  return e;
}

function readRoutes(reader: FieldReader, field: string, into: string[]): void {
  if (!reader.expectKind(field, JsonKind.ARRAY, 'an array')) return;
  if (!reader.scanner.openArray()) return;
  let index: i32 = 0;
  while (true) {
    if (index >= MAX_ROUTES) {
      reader.fail(field, 'has too many elements');
      return;
    }
    const path = indexed(field, index);
    const prefix = reader.printableString(path, MAX_ROUTE_CHARS);
    if (reader.failed) return;
    if (!hasPrefix(prefix, '/')) {
      reader.fail(path, 'must start with /');
      return;
    }
    into.push(prefix);
    index++;
    if (!reader.scanner.nextArrayElement()) return;
  }
}

function readArms(reader: FieldReader, field: string, e: FilterExperiment): void {
  const sc = reader.scanner;
  if (!reader.expectKind(field, JsonKind.ARRAY, 'an array')) return;
  if (!sc.openArray()) return;
  let index: i32 = 0;
  while (true) {
    if (index >= MAX_ARMS) {
      reader.fail(field, 'has too many elements');
      return;
    }
    const arm = indexed(field, index);
    if (!reader.expectKind(arm, JsonKind.OBJECT, 'an object')) return;
    let name = '';
    let weight: i64 = -1;
    if (sc.openObject()) {
      while (true) {
        const key = sc.readKey();
        if (sc.failed) return;
        const path = member(arm, key);
        if (key == 'name') name = reader.identifier(path, MAX_ID_CHARS);
        else if (key == 'weight_bp') weight = reader.integer(path, 0, <i64>BUCKETS);
        else sc.skipValue(DEPTH_ARM_OBJECT);
        if (reader.failed) return;
        if (!sc.nextObjectMember()) break;
      }
    }
    if (sc.failed) return;
    if (name.length == 0 || weight < 0) {
      reader.fail(member(arm, name.length == 0 ? 'name' : 'weight_bp'), 'is required');
      return;
    }
    e.armNames.push(name);
    e.armWeights.push(<u32>weight);
    index++;
    if (!sc.nextArrayElement()) return;
  }
}
