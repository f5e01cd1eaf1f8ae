// Command-line options every service takes, like Trove's: --config-file PATH (repeatable).
import { Command } from 'commander';

export interface ServiceArgs {
  configFiles: string[];
}

export function parseServiceArgs(name: string, argv = process.argv): ServiceArgs {
  const program = new Command(name)
    .option('--config-file <path>', 'configuration file (repeatable; later files win)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .allowExcessArguments(false)
    .exitOverride((err) => {
      process.exit(err.exitCode === 0 ? 0 : 2);
    });
  program.parse(argv);
  return { configFiles: program.opts<{ configFile: string[] }>().configFile };
}
