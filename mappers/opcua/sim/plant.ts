/**
 * The simulated plant in the simulator's address space: a tank whose level rises while the pump
 * runs, a heater whose temperature follows its setpoint, one variable per OPC UA scalar type for
 * typed writes, and optionally many changing variables for benchmarks. Node ids are stable
 * strings in namespace 2 (`ns=2;s=Plant.Tank.Level`).
 */
import {
  DataType,
  StatusCodes,
  Variant,
  VariantArrayType,
  type Namespace,
  type StatusCode,
  type UAObject,
  type UAVariable,
} from 'node-opcua';
import { OpcuaDataTypeNames, type OpcuaDataTypeName } from '../src/config.js';

export const PLANT_NAMESPACE_URI = 'urn:edgetwin:opcua-sim:plant';

/** Node ids of the plant, as a user writes them in visitor configData. */
export const plantNodes = {
  tankLevel: 'ns=2;s=Plant.Tank.Level',
  pumpOn: 'ns=2;s=Plant.Pump.On',
  setpoint: 'ns=2;s=Plant.Heater.Setpoint',
  temperature: 'ns=2;s=Plant.Heater.Temperature',
  /** One writable variable per scalar type: `typed('Int16')` -> `ns=2;s=Plant.Types.Int16`. */
  typed: (type: TypedVariable) => `ns=2;s=Plant.Types.${type}`,
  /** Benchmark variable i (0-based): `ns=2;s=Bench.V0042`. */
  bench: (i: number) => `ns=2;s=Bench.V${String(i).padStart(4, '0')}`,
} as const;

/** One simulator variable per scalar type the mapper supports, but DateTime and ByteString. */
export type TypedVariable = Exclude<OpcuaDataTypeName, 'DateTime' | 'ByteString'>;
export const TypedVariables: readonly TypedVariable[] = OpcuaDataTypeNames.filter(
  (t): t is TypedVariable => t !== 'DateTime' && t !== 'ByteString',
);

function initialValue(type: TypedVariable): unknown {
  switch (type) {
    case 'Boolean':
      return false;
    case 'String':
      return '';
    case 'Int64':
    case 'UInt64':
      return [0, 0];
    default:
      return 0;
  }
}

export interface PlantState {
  level: number;
  pumpOn: boolean;
  setpoint: number;
  temperature: number;
}

export interface Plant {
  state: PlantState;
  /** Advances the physics by `dtMs` and publishes the new values. */
  tick(dtMs: number): void;
  /** Gives every benchmark variable a new value. */
  tickBench(): void;
  /**
   * Gives the tank level a StatusCode, e.g. `UncertainSensorNotAccurate` or `BadSensorFailure`;
   * `Good` makes it healthy again.
   */
  setLevelStatus(status: string): void;
}

function variable(
  ns: Namespace,
  parent: UAObject,
  id: string,
  name: string,
  dataType: keyof typeof DataType,
  writable: boolean,
  value: unknown,
): UAVariable {
  const v = ns.addVariable({
    componentOf: parent,
    nodeId: `s=${id}`,
    browseName: name,
    dataType: dataType,
    minimumSamplingInterval: 50,
    accessLevel: writable ? 'CurrentRead | CurrentWrite' : 'CurrentRead',
    userAccessLevel: writable ? 'CurrentRead | CurrentWrite' : 'CurrentRead',
  });
  v.setValueFromSource(new Variant({ dataType: DataType[dataType], arrayType: VariantArrayType.Scalar, value }));
  return v;
}

export function buildPlant(ns: Namespace, benchVariables: number): Plant {
  const objects = ns.addressSpace.rootFolder.objects;
  const plant = ns.addObject({ organizedBy: objects, browseName: 'Plant', nodeId: 's=Plant' });
  const tank = ns.addObject({ componentOf: plant, browseName: 'Tank', nodeId: 's=Plant.Tank' });
  const pump = ns.addObject({ componentOf: plant, browseName: 'Pump', nodeId: 's=Plant.Pump' });
  const heater = ns.addObject({ componentOf: plant, browseName: 'Heater', nodeId: 's=Plant.Heater' });
  const types = ns.addObject({ componentOf: plant, browseName: 'Types', nodeId: 's=Plant.Types' });

  const state: PlantState = { level: 50, pumpOn: false, setpoint: 21.5, temperature: 20 };
  let levelStatus: StatusCode = StatusCodes.Good;

  const level = ns.addAnalogDataItem({
    componentOf: tank,
    nodeId: 's=Plant.Tank.Level',
    browseName: 'Level',
    dataType: 'Double',
    engineeringUnitsRange: { low: 0, high: 100 },
    minimumSamplingInterval: 50,
    accessLevel: 'CurrentRead',
    userAccessLevel: 'CurrentRead',
  });
  level.setValueFromSource(new Variant({ dataType: DataType.Double, value: state.level }));

  const pumpOn = variable(ns, pump, 'Plant.Pump.On', 'On', 'Boolean', true, state.pumpOn);
  const setpoint = variable(ns, heater, 'Plant.Heater.Setpoint', 'Setpoint', 'Float', true, state.setpoint);
  const temperature = variable(
    ns,
    heater,
    'Plant.Heater.Temperature',
    'Temperature',
    'Double',
    false,
    state.temperature,
  );
  for (const t of TypedVariables) variable(ns, types, `Plant.Types.${t}`, t, t, true, initialValue(t));

  const bench: UAVariable[] = [];
  if (benchVariables > 0) {
    const folder = ns.addFolder(objects, { browseName: 'Bench', nodeId: 's=Bench' });
    for (let i = 0; i < benchVariables; i++) {
      const id = plantNodes.bench(i).slice('ns=2;s='.length);
      bench.push(
        ns.addVariable({
          componentOf: folder,
          nodeId: `s=${id}`,
          browseName: id.slice('Bench.'.length),
          dataType: 'Double',
          minimumSamplingInterval: 50,
          value: new Variant({ dataType: DataType.Double, value: 0 }),
        }),
      );
    }
  }
  let benchCounter = 0;

  const publish = (v: UAVariable, dataType: DataType, value: number | boolean) =>
    v.setValueFromSource(new Variant({ dataType, value }), StatusCodes.Good, new Date());

  return {
    state,
    tick(dtMs) {
      // Writes from clients land in the address space; read them back into the model first.
      state.pumpOn = pumpOn.readValue().value.value === true;
      state.setpoint = Number(setpoint.readValue().value.value);
      const s = dtMs / 1000;
      state.level = Math.min(100, Math.max(0, state.level + (state.pumpOn ? 2 : -0.5) * s));
      state.temperature += (state.setpoint - state.temperature) * Math.min(1, 0.1 * s);
      const lv = new Variant({ dataType: DataType.Double, value: Math.round(state.level * 1000) / 1000 });
      level.setValueFromSource(lv, levelStatus, new Date());
      publish(temperature, DataType.Double, Math.round(state.temperature * 1000) / 1000);
    },
    tickBench() {
      benchCounter++;
      for (let i = 0; i < bench.length; i++) publish(bench[i]!, DataType.Double, benchCounter + i / 10000);
    },
    setLevelStatus(status) {
      const code = (StatusCodes as unknown as Record<string, StatusCode | undefined>)[status];
      if (!code || typeof code.isGood !== 'function') throw new Error(`unknown StatusCode ${status}`);
      levelStatus = code;
      const lv = new Variant({ dataType: DataType.Double, value: Math.round(state.level * 1000) / 1000 });
      level.setValueFromSource(lv, code, new Date());
    },
  };
}
