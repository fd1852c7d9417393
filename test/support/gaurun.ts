/** golang-stats-api-handler's keys, in its order: what Gaurun's `/stat/go` answers and dashboards poll. */
export const GO_STATS_KEYS = [
  'time',
  'go_version',
  'go_os',
  'go_arch',
  'cpu_num',
  'goroutine_num',
  'gomaxprocs',
  'cgo_call_num',
  'memory_alloc',
  'memory_total_alloc',
  'memory_sys',
  'memory_lookups',
  'memory_mallocs',
  'memory_frees',
  'memory_stack',
  'heap_alloc',
  'heap_sys',
  'heap_idle',
  'heap_inuse',
  'heap_released',
  'heap_objects',
  'gc_next',
  'gc_last',
  'gc_num',
  'gc_per_second',
  'gc_pause_per_second',
  'gc_pause',
] as const;

/** The keys whose values are not numbers: the runtime's strings, and the list of recent pauses. */
export const GO_STATS_NON_NUMBERS: readonly string[] = ['go_version', 'go_os', 'go_arch', 'gc_pause'];
