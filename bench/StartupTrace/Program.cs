using System.Globalization;
using OAuthBroker.Bench.StartupTrace;

// Where a start-up spends its time until the first request: one table of phases per trace, JIT and assembly loads
// by area. Counts (methods jitted, assemblies loaded) are exact; times carry the tracing's own overhead and the
// machine's noise, so compare them within one trace, or as medians of several.
//   usage: dotnet run --project bench/StartupTrace -- [--methods] <trace.nettrace>...
//   --methods also lists every method jitted in the trace, the first request's own work included (time, JIT ms, name), to compare two traces.
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var listMethods = args.Contains("--methods");
foreach (var file in args.Where(a => a != "--methods"))
{
    var events = StartupEvents.Read(file);
    // Until the first answer (the benchmark's start-up row ends at the first 200), else the first request, else the end.
    var end = !double.IsNaN(events.FirstAnswer) ? events.FirstAnswer
        : double.IsNaN(events.FirstRequest) ? events.Jitted.Max(j => j.At) : events.FirstRequest;
    var jitted = events.Jitted.Where(j => j.At < end).ToList();
    var loaded = events.Assemblies.Where(a => a.At < end).ToList();
    Console.WriteLine($"## {Path.GetFileName(file)}: first request {events.FirstRequest:0} ms, its answer {end:0} ms after the runtime started");
    Console.WriteLine();
    Console.WriteLine($"{jitted.Count} methods jitted ({jitted.Sum(j => j.Ms):0} ms), {loaded.Count} assemblies loaded ({loaded.Sum(a => a.Ms):0} ms).");
    Console.WriteLine();
    Console.WriteLine("| Phase | Wall ms | Methods jitted | JIT ms | Assemblies loaded |");
    Console.WriteLine("|---|---|---|---|---|");
    var bounds = events.Phases.Where(p => p.At < end).Prepend((At: 0.0, Name: "runtime start")).ToList();
    if (events.FirstRequest < end)
    {
        bounds.Add((events.FirstRequest, "first request"));
    }

    bounds.Add((end, "first answer"));
    for (var i = 0; i + 1 < bounds.Count; i++)
    {
        var (from, to) = (bounds[i].At, bounds[i + 1].At);
        var phaseJit = jitted.Where(j => j.At >= from && j.At < to).ToList();
        Console.WriteLine($"| {bounds[i].Name} → {bounds[i + 1].Name} | {to - from:0} | {phaseJit.Count} | {phaseJit.Sum(j => j.Ms):0} | {loaded.Count(a => a.At >= from && a.At < to)} |");
    }

    Console.WriteLine();
    Console.WriteLine("| Area | Methods jitted | JIT ms | Assemblies loaded |");
    Console.WriteLine("|---|---|---|---|");
    var areas = jitted.Select(j => CodeArea.Of(j.Namespace)).Concat(loaded.Select(a => CodeArea.Of(a.Name))).Distinct();
    foreach (var area in areas.OrderByDescending(a => jitted.Count(j => CodeArea.Of(j.Namespace) == a)))
    {
        var inArea = jitted.Where(j => CodeArea.Of(j.Namespace) == area).ToList();
        Console.WriteLine($"| {area} | {inArea.Count} | {inArea.Sum(j => j.Ms):0} | {loaded.Count(a => CodeArea.Of(a.Name) == area)} |");
    }

    if (listMethods)
    {
        Console.WriteLine();
        // Every method the trace saw jitted, also after the first request started (the request's own work until the 200).
        foreach (var (at, ms, ns, name) in events.Jitted)
        {
            Console.WriteLine($"jit {at,8:0.0} {ms,6:0.00} {ns}.{name}");
        }
    }

    Console.WriteLine();
}
