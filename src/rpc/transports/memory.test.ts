import test from 'ava';
import { transportContract } from '../../../test/helpers/transport.contract.js';
import { MemoryBroker, MemoryTransport } from './memory.js';

const broker = new MemoryBroker();
transportContract(test, async () => new MemoryTransport(broker), 'memory');
