namespace OAuthBroker.LocalEnvironment;

/// <summary>Finds the repository (the folder with OAuthFunctions.sln), where package.json and node_modules live.</summary>
public static class RepositoryRoot
{
    public static string Find()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "OAuthFunctions.sln")))
                {
                    return directory.FullName;
                }
            }
        }

        throw new InvalidOperationException("Run this from inside the repository (no OAuthFunctions.sln found above the current directory).");
    }
}
