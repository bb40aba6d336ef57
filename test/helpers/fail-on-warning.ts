// style.md habit 12: a process warning (MaxListeners, deprecation) in a test usually means a leak; fail on it.
process.on('warning', (warning) => {
  throw new Error(`Process warning during tests: ${warning.name}: ${warning.message}`);
});
