using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using OAuthBroker.Events;
using OAuthBroker.LocalEnvironment;

namespace OAuthBroker.Tests.Browser;

/// <summary>
/// The local run as a person runs it, on free ports: its webhook receiver on, its in-process scheduler delivering every
/// two seconds on the real clock. In headless Debian Chromium a person links Bybit and sees <c>link.created</c> arrive in
/// "Events received" with a verified signature, then unlinks and sees <c>link.deleted</c>.
/// </summary>
public sealed class DemoEventsBrowserTests : IAsyncLifetime
{
    private const string Chromium = "/usr/bin/chromium";
    private static readonly PageWaitForSelectorOptions Patient = new() { Timeout = 30_000 };
    private readonly string _certificateDirectory = Path.Combine(Path.GetTempPath(), "oauth-broker-tests", "events-" + Guid.NewGuid().ToString("N"));
    private BrokerEnvironment _environment = null!;

    public async Task InitializeAsync()
    {
        var settings = LocalEnvironmentSettings.Isolated(_certificateDirectory);
        settings.EventsReceiver = true;
        _environment = await BrokerEnvironment.StartAsync(settings);
    }

    public async Task DisposeAsync()
    {
        await _environment.DisposeAsync();
        try
        {
            Directory.Delete(_certificateDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Temp folder; leaving it is harmless.
        }
    }

    /// <summary>A new endpoint hears events from its first delivery run on (docs/events.md): wait for that run.</summary>
    private async Task FirstDeliveryRunAsync()
    {
        var queue = _environment.Broker.Services.GetRequiredService<IDeliveryStore>();
        for (var i = 0; i < 300 && await queue.GetCursorAsync("demo", default) is null; i++)
        {
            await Task.Delay(100);
        }

        (await queue.GetCursorAsync("demo", default)).ShouldNotBeNull("the in-process scheduler ran a delivery");
    }

    [Fact]
    public async Task A_person_sees_link_created_and_link_deleted_arrive_verified_on_the_demo_page()
    {
        File.Exists(Chromium).ShouldBeTrue("install the Debian chromium package (apt-get install chromium); .ci/run does");
        await FirstDeliveryRunAsync();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        var errors = new List<string>();
        var page = await browser.NewPageAsync();
        page.Console += (_, message) =>
        {
            if (message.Type == "error" && !message.Location.StartsWith(_environment.SandboxUri.AbsoluteUri, StringComparison.Ordinal))
            {
                errors.Add($"{message.Text} ({message.Location})");
            }
        };
        await page.GotoAsync(new Uri(_environment.BrokerUri, "demo/").AbsoluteUri);
        await page.WaitForSelectorAsync("text=Receiver: " + _environment.EventsReceiver!.Url.AbsoluteUri, Patient);
        await page.FillAsync("#user", "events-user");
        await page.ClickAsync("#user-form button");

        var popup = await page.RunAndWaitForPopupAsync(() => page.ClickAsync("button[data-provider=bybit]"));
        await popup.WaitForSelectorAsync("#approve", Patient);
        await popup.FillAsync("#account", "404040404");
        await popup.ClickAsync("#approve");
        await page.WaitForSelectorAsync("#links tr[data-account='404040404']", Patient);

        var created = await page.WaitForSelectorAsync("#events tr[data-type='link.created']", Patient);
        (await created!.GetAttributeAsync("data-verified")).ShouldBe("true");
        var cells = await created.EvalOnSelectorAllAsync<string[]>("td", "cells => cells.map(c => c.textContent)");
        cells[..4].ShouldBe(["link.created", "bybit", "404040404", "events-user"]);
        cells[5].ShouldBe("verified");

        await page.ClickAsync("#links tr[data-account='404040404'] button");
        var deleted = await page.WaitForSelectorAsync("#events tr[data-type='link.deleted']", Patient);
        (await deleted!.GetAttributeAsync("data-verified")).ShouldBe("true");
        (await deleted.TextContentAsync())!.ShouldContain("404040404");

        // The panel is the receiver's view: what it verified, once per webhook-id.
        var received = _environment.EventsReceiver.Events;
        received.Select(e => e.Type).Order().ShouldBe(["link.created", "link.deleted"]);
        received.ShouldAllBe(e => e.Verified && e.UserId == "events-user");
        errors.ShouldBeEmpty();
    }
}
