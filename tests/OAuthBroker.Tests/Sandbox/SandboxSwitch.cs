using System.Reflection;

namespace OAuthBroker.Tests.Sandbox;

/// <summary>
/// Flips a sandbox reading for one test and puts every setting of that options object back afterwards, so a test in
/// the shared environment never leaves another reading behind for the next one.
/// </summary>
public static class SandboxSwitch
{
    public static IDisposable Set<T>(T settings, Action<T> apply) where T : class
    {
        var properties = typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanRead && p.CanWrite).ToArray();
        var saved = properties.Select(p => (p, Copy(p.GetValue(settings)))).ToArray();
        apply(settings);
        return new Restore(() =>
        {
            foreach (var (property, value) in saved)
            {
                property.SetValue(settings, value);
            }
        });
    }

    /// <summary>Lists of strings are copied (a test may add to them); anything else is a value or kept by reference.</summary>
    private static object? Copy(object? value) => value is List<string> list ? new List<string>(list) : value;

    private sealed class Restore(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }
}
