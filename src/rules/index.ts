// The ipvsadm rules format as a library: parseRules turns `ipvsadm -S` / `ipvsadm -R` text into typed
// operations (with line numbers), formatRules writes exactly what `ipvsadm -S` (with the names
// resolveEndpointNames looks up) or `-Sn` prints, and the ipvsadm command-line grammar they share is
// exported for tools that take ipvsadm arguments.

export { parseRules, parseRulesResolving, ruleLineArguments, operationOf, type ParseRulesOptions } from './parse.js';
export {
  formatRules,
  formatServiceRule,
  formatDestinationRule,
  serviceRuleName,
  type FormatRulesOptions,
  type ServiceWithDestinations,
} from './format.js';
export { iterateRules, type RulesSource, type IterateRulesOptions } from './save.js';
export { prepareRules, prepareRulesResolving, PreparedRun, type PreparedStep, type OtherRuleOperation } from './prepare.js';
export { isTableOperation, toClientOperation, type RuleOperation, type TableRuleOperation } from './operations.js';
export { RulesSyntaxError, CommandLineError, type UsageExitCode } from './errors.js';
export {
  parseCommandLine,
  collectHostNames,
  COMMAND_NAMES,
  OPTION_NAMES,
  DEFAULT_SCHEDULER,
  DEFAULT_PERSISTENCE_TIMEOUT,
  MAX_TIMEOUT,
  type CommandName,
  type OptionName,
  type ParsedCommand,
  type ParseOutcome,
  type GrammarContext,
  type ListFormat,
} from './command-line.js';
export { serviceKeyOf, serviceSpecOf, destinationSpecOf, destinationKeyOf, daemonSpecOf } from './specs.js';
export { parseServicesFile, systemServiceNames, NO_SERVICE_NAMES, type ServiceNames } from './service-names.js';
export { endpointText, type EndpointNames } from './endpoint-text.js';
export { resolveEndpointNames, systemResolver, staticResolver, type Resolver, type SystemResolverOptions, type AddressSource } from './resolver.js';
export { sortServices, sortDestinations, compareServices, compareDestinations } from './ordering.js';
