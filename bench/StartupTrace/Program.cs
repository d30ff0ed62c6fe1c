using System.Globalization;
using OAuthBroker.Bench.StartupTrace;

// Where a start-up spends its time until the first request: one table of phases per trace, JIT and assembly loads
// by area. Counts (methods jitted, assemblies loaded) are exact; times carry the tracing's own overhead and the
// machine's noise, so compare them within one trace, or as medians of several.
//   usage: dotnet run --project bench/StartupTrace -- <trace.nettrace>...
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
foreach (var file in args)
{
    var events = StartupEvents.Read(file);
    var end = double.IsNaN(events.FirstRequest) ? events.Jitted.Max(j => j.At) : events.FirstRequest;
    var jitted = events.Jitted.Where(j => j.At < end).ToList();
    var loaded = events.Assemblies.Where(a => a.At < end).ToList();
    Console.WriteLine($"## {Path.GetFileName(file)}: first request {end:0} ms after the runtime started");
    Console.WriteLine();
    Console.WriteLine($"{jitted.Count} methods jitted ({jitted.Sum(j => j.Ms):0} ms), {loaded.Count} assemblies loaded ({loaded.Sum(a => a.Ms):0} ms).");
    Console.WriteLine();
    Console.WriteLine("| Phase | Wall ms | Methods jitted | JIT ms | Assemblies loaded |");
    Console.WriteLine("|---|---|---|---|---|");
    var bounds = events.Phases.Where(p => p.At < end).Prepend((At: 0.0, Name: "runtime start")).Append((At: end, Name: "first request")).ToList();
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

    Console.WriteLine();
}
