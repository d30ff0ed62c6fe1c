using OAuthBroker.Sealing;

namespace OAuthBroker.Tests.Flows;

/// <summary>Which versions of the sealing secret are in the ring and which one seals, at a given moment.</summary>
public sealed class SealingKeyScheduleTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    private static SealingKeyVersion Version(string id, TimeSpan createdAfterT0, bool enabled = true, DateTimeOffset? expires = null, DateTimeOffset? notBefore = null) =>
        new(id, T0 + createdAfterT0, enabled, notBefore, expires);

    /// <summary>"ring ids → current id" at T0 + <paramref name="afterT0"/>.</summary>
    private static string At(TimeSpan afterT0, params SealingKeyVersion[] versions)
    {
        var (inRing, current) = SealingKeySchedule.Select(versions, T0 + afterT0);
        return $"{string.Join(",", inRing.Select(v => v.Id))} → {current?.Id ?? "none"}";
    }

    [Fact]
    public void The_first_key_seals_at_once()
    {
        At(TimeSpan.FromSeconds(1), Version("a", TimeSpan.Zero)).ShouldBe("a → a");
        At(TimeSpan.Zero).ShouldBe(" → none");
    }

    [Fact]
    public void A_new_key_opens_at_once_but_seals_only_after_the_activation_delay_so_every_instance_has_it_first()
    {
        var a = Version("a", TimeSpan.Zero);
        var b = Version("b", TimeSpan.FromDays(30));
        At(TimeSpan.FromDays(30) + TimeSpan.FromMinutes(1), a, b).ShouldBe("a,b → a");
        At(TimeSpan.FromDays(30) + SealingKeySchedule.ActivationDelay, a, b).ShouldBe("a,b → b");
        SealingKeySchedule.ActivationDelay.ShouldBeGreaterThanOrEqualTo(SealingKeySchedule.RefreshInterval * 2, "every instance refreshes at least once, with room for a slow one");
    }

    [Fact]
    public void A_superseded_key_leaves_the_ring_an_hour_after_its_successor_began_to_seal()
    {
        var a = Version("a", TimeSpan.Zero);
        var b = Version("b", TimeSpan.FromDays(30));
        var bSeals = TimeSpan.FromDays(30) + SealingKeySchedule.ActivationDelay;
        At(bSeals + SealingKeySchedule.RetireAfter - TimeSpan.FromSeconds(1), a, b).ShouldBe("a,b → b");
        At(bSeals + SealingKeySchedule.RetireAfter, a, b).ShouldBe("b → b");
    }

    [Fact]
    public void Disabled_expired_and_not_yet_valid_versions_are_never_in_the_ring()
    {
        var a = Version("a", TimeSpan.Zero);
        At(TimeSpan.FromHours(1), a with { Enabled = false }).ShouldBe(" → none");
        At(TimeSpan.FromHours(1), a with { ExpiresOn = T0 + TimeSpan.FromMinutes(59) }).ShouldBe(" → none");
        At(TimeSpan.FromHours(1), a with { NotBefore = T0 + TimeSpan.FromHours(2) }).ShouldBe(" → none");
    }

    [Fact]
    public void An_emergency_rotation_that_disables_every_older_key_seals_with_the_new_one_at_once()
    {
        var a = Version("a", TimeSpan.Zero, enabled: false);
        var b = Version("b", TimeSpan.FromDays(30));
        At(TimeSpan.FromDays(30) + TimeSpan.FromSeconds(5), a, b).ShouldBe("b → b");
    }
}
